package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// ErrNotFound is returned by a RemoteAEStore for an unknown name.
var ErrNotFound = errors.New("api: not found")

// ErrExists is returned by RemoteAEStore.Create for a name already taken.
var ErrExists = errors.New("api: already exists")

// RemoteAE is a remote DICOM application entity Lightbox talks to (a
// modality, a workstation, another PACS): the target of C-MOVE and
// C-STORE, and a known caller.
type RemoteAE struct {
	// Name identifies the entry (unique, URL-safe); it is not sent on the wire.
	Name string `json:"name"`
	// AETitle is the remote AE title (1 to 16 characters, no backslash).
	AETitle     string `json:"aeTitle"`
	Host        string `json:"host"`
	Port        int    `json:"port"`
	TLS         bool   `json:"tls"`
	Description string `json:"description,omitempty"`
}

// Validate checks the entry.
func (ae RemoteAE) Validate() error {
	var problems []string
	if !validName(ae.Name) {
		problems = append(problems, "name must be 1 to 64 letters, digits, '-', '_' or '.'")
	}
	t := strings.TrimSpace(ae.AETitle)
	if t == "" || len(ae.AETitle) > 16 {
		problems = append(problems, "aeTitle must be 1 to 16 characters, not all spaces")
	}
	for _, c := range ae.AETitle {
		if c < 0x20 || c > 0x7e || c == '\\' {
			problems = append(problems, "aeTitle must be printable ASCII without backslash")
			break
		}
	}
	if strings.TrimSpace(ae.Host) == "" || strings.ContainsAny(ae.Host, " /\\") {
		problems = append(problems, "host must be a host name or IP address")
	}
	if ae.Port < 1 || ae.Port > 65535 {
		problems = append(problems, "port must be between 1 and 65535")
	}
	if len(problems) > 0 {
		return fmt.Errorf("api: invalid remote AE: %s", strings.Join(problems, "; "))
	}
	return nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// RemoteAEStore keeps the remote AEs. Implementations are safe for
// concurrent use.
type RemoteAEStore interface {
	// List returns every entry, sorted by name.
	List(ctx context.Context) ([]RemoteAE, error)
	// Get returns the entry with the name, or ErrNotFound.
	Get(ctx context.Context, name string) (RemoteAE, error)
	// Create adds an entry, or returns ErrExists.
	Create(ctx context.Context, ae RemoteAE) error
	// Update replaces an entry, or returns ErrNotFound.
	Update(ctx context.Context, ae RemoteAE) error
	// Delete removes an entry, or returns ErrNotFound.
	Delete(ctx context.Context, name string) error
}

// FileAEStore is a RemoteAEStore kept in one JSON file, rewritten
// atomically (temporary file, fsync, rename, directory fsync) on change.
type FileAEStore struct {
	path string
	mu   sync.Mutex
	aes  map[string]RemoteAE
}

var _ RemoteAEStore = (*FileAEStore)(nil)

// OpenFileAEStore loads the store at path; a missing file is an empty store.
func OpenFileAEStore(path string) (*FileAEStore, error) {
	s := &FileAEStore{path: path, aes: map[string]RemoteAE{}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("api: remote AEs: %w", err)
	}
	var list []RemoteAE
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("api: remote AEs: %s: %w", path, err)
	}
	for _, ae := range list {
		if err := ae.Validate(); err != nil {
			return nil, fmt.Errorf("api: remote AEs: %s: %q: %w", path, ae.Name, err)
		}
		s.aes[ae.Name] = ae
	}
	return s, nil
}

// List implements RemoteAEStore.
func (s *FileAEStore) List(context.Context) ([]RemoteAE, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sorted(), nil
}

func (s *FileAEStore) sorted() []RemoteAE {
	out := make([]RemoteAE, 0, len(s.aes))
	for _, ae := range s.aes {
		out = append(out, ae)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get implements RemoteAEStore.
func (s *FileAEStore) Get(_ context.Context, name string) (RemoteAE, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ae, ok := s.aes[name]
	if !ok {
		return ae, fmt.Errorf("%w: remote AE %q", ErrNotFound, name)
	}
	return ae, nil
}

// Create implements RemoteAEStore.
func (s *FileAEStore) Create(_ context.Context, ae RemoteAE) error {
	if err := ae.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.aes[ae.Name]; ok {
		return fmt.Errorf("%w: remote AE %q", ErrExists, ae.Name)
	}
	return s.change(func() { s.aes[ae.Name] = ae }, func() { delete(s.aes, ae.Name) })
}

// Update implements RemoteAEStore.
func (s *FileAEStore) Update(_ context.Context, ae RemoteAE) error {
	if err := ae.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.aes[ae.Name]
	if !ok {
		return fmt.Errorf("%w: remote AE %q", ErrNotFound, ae.Name)
	}
	return s.change(func() { s.aes[ae.Name] = ae }, func() { s.aes[ae.Name] = old })
}

// Delete implements RemoteAEStore.
func (s *FileAEStore) Delete(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.aes[name]
	if !ok {
		return fmt.Errorf("%w: remote AE %q", ErrNotFound, name)
	}
	return s.change(func() { delete(s.aes, name) }, func() { s.aes[name] = old })
}

// change applies do, saves, and undoes on failure.
func (s *FileAEStore) change(do, undo func()) error {
	do()
	if err := s.save(); err != nil {
		undo()
		return err
	}
	return nil
}

func (s *FileAEStore) save() error {
	b, err := json.MarshalIndent(s.sorted(), "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("api: remote AEs: %w", err)
	}
	f, err := os.CreateTemp(dir, ".remote-aes-*.json")
	if err != nil {
		return fmt.Errorf("api: remote AEs: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("api: remote AEs: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("api: remote AEs: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("api: remote AEs: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("api: remote AEs: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
