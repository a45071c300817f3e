package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/postgres"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
)

// Storage is the opened archive with the stores under it.
type Storage struct {
	Archive *archive.Archive
	Blobs   *blobfs.Store
	Index   index.Index
}

// OpenStorage opens the blob store, the index backend and the archive over
// them as the configuration says, creating the data directory if needed.
func OpenStorage(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Storage, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("server: data directory: %w", err)
	}
	blobs, err := blobfs.Open(cfg.BlobDir(), blobfs.Options{Logger: log.With("component", "blob")})
	if err != nil {
		return nil, fmt.Errorf("server: blob store: %w", err)
	}
	idx, err := OpenIndex(ctx, cfg, log)
	if err != nil {
		blobs.Close()
		return nil, err
	}
	dup, err := archive.ParseDuplicatePolicy(cfg.Storage.Duplicates)
	if err != nil {
		idx.Close()
		blobs.Close()
		return nil, fmt.Errorf("server: %w", err)
	}
	compress := archive.CompressOptions{TransferSyntax: cfg.Storage.CompressSyntax(), KeepOriginal: cfg.Storage.KeepOriginal}
	err = archive.ValidateCompressSyntax(compress.TransferSyntax)
	if err == nil && compress.TransferSyntax != "" && !codec.CanEncode(compress.TransferSyntax) {
		err = fmt.Errorf("no encoder for %s", compress.TransferSyntax)
	}
	if err != nil {
		idx.Close()
		blobs.Close()
		return nil, fmt.Errorf("server: compress at rest: %w", err)
	}
	arch := archive.New(blobs, idx, archive.Options{Logger: log.With("component", "archive"), Duplicates: dup, Compress: compress})
	return &Storage{Archive: arch, Blobs: blobs, Index: idx}, nil
}

// OpenIndex opens the configured index backend.
func OpenIndex(ctx context.Context, cfg *config.Config, log *slog.Logger) (index.Index, error) {
	ilog := log.With("component", "index")
	attrs, err := QueryAttributes(cfg.Index.QueryAttributes)
	if err != nil {
		return nil, fmt.Errorf("server: index: %w", err)
	}
	switch cfg.Index.Backend {
	case "sqlite":
		idx, err := sqlite.Open(ctx, cfg.IndexPath(), sqlite.Options{Logger: ilog, QueryAttributes: attrs})
		if err != nil {
			return nil, fmt.Errorf("server: index: %w", err)
		}
		return idx, nil
	case "postgres":
		idx, err := postgres.Open(ctx, cfg.Index.DSN, postgres.Options{Logger: ilog, QueryAttributes: attrs})
		if err != nil {
			return nil, fmt.Errorf("server: index: %w", err)
		}
		return idx, nil
	}
	return nil, fmt.Errorf("server: index: unknown backend %q (sqlite, postgres)", cfg.Index.Backend)
}

// Close flushes the archive's pending commits, then closes the index and
// the blob store, in that order.
func (s *Storage) Close() error {
	return errors.Join(s.Archive.Close(), s.Index.Close(), s.Blobs.Close())
}
