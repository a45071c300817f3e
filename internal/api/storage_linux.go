package api

import (
	"context"
	"fmt"
	"syscall"
)

// DirStorage returns a Storage function describing a blob store kept in
// the directory dir (its volume's total and free bytes).
func DirStorage(backend, dir string) func(ctx context.Context) (StorageInfo, error) {
	return func(context.Context) (StorageInfo, error) {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			return StorageInfo{}, fmt.Errorf("api: storage %s: %w", dir, err)
		}
		bs := uint64(st.Bsize)
		return StorageInfo{Backend: backend, Location: dir, TotalBytes: st.Blocks * bs, FreeBytes: st.Bavail * bs}, nil
	}
}
