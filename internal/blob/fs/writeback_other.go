//go:build !linux

package fs

import "os"

// startWriteback does nothing where sync_file_range(2) is not available.
func startWriteback(*os.File) {}
