//go:build !linux

package api

import "context"

// DirStorage returns a Storage function describing a blob store kept in
// the directory dir (volume sizes are reported on Linux only).
func DirStorage(backend, dir string) func(ctx context.Context) (StorageInfo, error) {
	return func(context.Context) (StorageInfo, error) {
		return StorageInfo{Backend: backend, Location: dir}, nil
	}
}
