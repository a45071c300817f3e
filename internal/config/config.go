// Package config holds Lightbox's configuration model: the device's
// application entity, its network connections (DIMSE, DIMSE over TLS, HTTP),
// storage and index, and the remote AEs it knows, modelled the way DICOM
// models a device (Device, Application Entity, Connection). It loads a JSON
// file, applies environment variables and flags on top, fills defaults and
// validates the result. It opens nothing: internal/server does that.
package config

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Config is the whole configuration of one Lightbox node.
type Config struct {
	// AETitle is the archive's own application entity title.
	AETitle string `json:"ae_title"`
	// DataDir holds the blob store and, for SQLite, the index.
	DataDir string  `json:"data_dir"`
	DICOM   DICOM   `json:"dicom"`
	HTTP    HTTP    `json:"http"`
	Index   Index   `json:"index"`
	Storage Storage `json:"storage"`
	// RemoteAEs are the peers the archive knows: C-MOVE destinations and
	// trusted callers.
	RemoteAEs []RemoteAE `json:"remote_aes"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level"`
}

// DICOM configures the DIMSE listeners and their policy.
type DICOM struct {
	// Addr is the DIMSE listen address (host:port); "" disables it.
	Addr string `json:"addr"`
	// TLSAddr is the DIMSE-over-TLS listen address; "" disables it.
	TLSAddr string `json:"tls_addr"`
	TLS     TLS    `json:"tls"`
	// MaxAssociations bounds concurrent associations.
	MaxAssociations int `json:"max_associations"`
	// AllowUnknownStore, Query, Retrieve say whether calling AEs that are
	// not in RemoteAEs may use each service.
	AllowUnknownStore    bool `json:"allow_unknown_store"`
	AllowUnknownQuery    bool `json:"allow_unknown_query"`
	AllowUnknownRetrieve bool `json:"allow_unknown_retrieve"`
	// IdleTimeoutSeconds closes associations that stay silent this long.
	IdleTimeoutSeconds int `json:"idle_timeout_seconds"`
}

// HTTP configures the web listener (DICOMweb, REST API, viewer).
type HTTP struct {
	Addr string `json:"addr"`
	TLS  TLS    `json:"tls"`
	// CORSOrigins lists the origins allowed cross-origin access ("*" for all).
	CORSOrigins []string `json:"cors_origins"`
}

// TLS names certificate files; empty fields mean no TLS.
type TLS struct {
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
	// CAFile, when set, verifies peers' certificates (mutual TLS).
	CAFile string `json:"ca_file"`
}

// Enabled reports whether a certificate and key are configured.
func (t TLS) Enabled() bool { return t.CertFile != "" && t.KeyFile != "" }

// Index selects the metadata index backend.
type Index struct {
	// Backend is "sqlite" (default, in DataDir) or "postgres".
	Backend string `json:"backend"`
	// DSN is the PostgreSQL connection string.
	DSN string `json:"dsn"`
	// QueryAttributes lists attributes outside the query/retrieve model
	// that the index stores and matches (C-FIND, QIDO-RS), each
	// "[LEVEL:]NAME[@CREATOR][/VR]": a keyword or tag, at STUDY, SERIES or
	// IMAGE level (default IMAGE), private tags with their creator and VR,
	// e.g. "SERIES:ProtocolName", "OperatorsName",
	// "SERIES:(0019,xx0C)@GEMS_ACQU_01/DS". Instances stored before an
	// attribute is listed are indexed for it at the next start.
	QueryAttributes []string `json:"query_attributes"`
}

// SplitAttributeList splits a list of query attributes given as one string
// (LIGHTBOX_INDEX_QUERY_ATTRIBUTES, -index-attr) at semicolons and at
// commas outside parentheses, so that "(0019,100C)" stays whole.
func SplitAttributeList(s string) []string {
	var out []string
	depth, start := 0, 0
	flush := func(end int) {
		if f := strings.TrimSpace(s[start:end]); f != "" {
			out = append(out, f)
		}
		start = end + 1
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case ';':
			flush(i)
		case ',':
			if depth == 0 {
				flush(i)
			}
		}
	}
	flush(len(s))
	return out
}

// Storage configures how instances are kept.
type Storage struct {
	// Duplicates is keep-first (default), replace or reject.
	Duplicates string `json:"duplicates"`
	// CompressAtRest names a lossless transfer syntax that native images
	// are compressed to at ingest: "jpeg-ls" (1.2.840.10008.1.2.4.80),
	// "jpeg2000" (1.2.840.10008.1.2.4.90), "rle" (1.2.840.10008.1.2.5),
	// or the UID itself; "" or "off" (the default) stores what arrives.
	CompressAtRest string `json:"compress_at_rest"`
	// KeepOriginal also keeps the received bytes of instances compressed
	// at rest, retrievable byte for byte.
	KeepOriginal bool `json:"keep_original"`
}

// compressSyntaxes maps the names CompressAtRest accepts to UIDs.
var compressSyntaxes = map[string]string{
	"":                       "",
	"off":                    "",
	"jpeg-ls":                "1.2.840.10008.1.2.4.80",
	"jpeg2000":               "1.2.840.10008.1.2.4.90",
	"rle":                    "1.2.840.10008.1.2.5",
	"1.2.840.10008.1.2.4.80": "1.2.840.10008.1.2.4.80",
	"1.2.840.10008.1.2.4.90": "1.2.840.10008.1.2.4.90",
	"1.2.840.10008.1.2.5":    "1.2.840.10008.1.2.5",
}

// CompressSyntax returns the transfer syntax UID of CompressAtRest, ""
// when off or not valid (Validate reports that).
func (s Storage) CompressSyntax() string { return compressSyntaxes[s.CompressAtRest] }

// RemoteAE is a known peer.
type RemoteAE struct {
	AETitle string `json:"ae_title"`
	Host    string `json:"host"`
	Port    int    `json:"port"`
	TLS     bool   `json:"tls"`
	// Description is free text for administrators.
	Description string `json:"description,omitempty"`
}

// Address returns host:port.
func (r RemoteAE) Address() string { return fmt.Sprintf("%s:%d", r.Host, r.Port) }

// Default returns the configuration Lightbox runs with when given none:
// everything on this machine, ready to receive images.
func Default() Config {
	return Config{
		AETitle: "LIGHTBOX",
		DataDir: "lightbox-data",
		DICOM: DICOM{
			Addr:                 ":11112",
			MaxAssociations:      64,
			AllowUnknownStore:    true,
			AllowUnknownQuery:    true,
			AllowUnknownRetrieve: true,
			IdleTimeoutSeconds:   300,
		},
		HTTP:     HTTP{Addr: ":8080"},
		Index:    Index{Backend: "sqlite"},
		Storage:  Storage{Duplicates: "keep-first"},
		LogLevel: "info",
	}
}

// Load reads a JSON configuration file over the defaults; unknown keys are
// errors so a typo does not silently fall back to a default.
func Load(path string) (Config, error) {
	cfg := Default()
	if path == "" {
		return cfg, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("config: %s: %w", path, err)
	}
	return cfg, nil
}

// envVars maps environment variables to the setting they override.
var envVars = []struct {
	name string
	set  func(*Config, string) error
}{
	{"LIGHTBOX_AE_TITLE", func(c *Config, v string) error { c.AETitle = v; return nil }},
	{"LIGHTBOX_DATA_DIR", func(c *Config, v string) error { c.DataDir = v; return nil }},
	{"LIGHTBOX_DICOM_ADDR", func(c *Config, v string) error { c.DICOM.Addr = v; return nil }},
	{"LIGHTBOX_DICOM_TLS_ADDR", func(c *Config, v string) error { c.DICOM.TLSAddr = v; return nil }},
	{"LIGHTBOX_HTTP_ADDR", func(c *Config, v string) error { c.HTTP.Addr = v; return nil }},
	{"LIGHTBOX_INDEX", func(c *Config, v string) error { c.Index.Backend = v; return nil }},
	{"LIGHTBOX_PG_DSN", func(c *Config, v string) error { c.Index.DSN = v; return nil }},
	{"LIGHTBOX_INDEX_QUERY_ATTRIBUTES", func(c *Config, v string) error {
		c.Index.QueryAttributes = SplitAttributeList(v)
		return nil
	}},
	{"LIGHTBOX_LOG_LEVEL", func(c *Config, v string) error { c.LogLevel = v; return nil }},
	{"LIGHTBOX_COMPRESS_AT_REST", func(c *Config, v string) error { c.Storage.CompressAtRest = v; return nil }},
	{"LIGHTBOX_KEEP_ORIGINAL", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		c.Storage.KeepOriginal = b
		return err
	}},
	{"LIGHTBOX_MAX_ASSOCIATIONS", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		c.DICOM.MaxAssociations = n
		return err
	}},
}

// ApplyEnv overrides settings from LIGHTBOX_* environment variables.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	for _, ev := range envVars {
		if v := getenv(ev.name); v != "" {
			if err := ev.set(c, v); err != nil {
				return fmt.Errorf("config: %s=%q: %w", ev.name, v, err)
			}
		}
	}
	return nil
}

// RegisterFlags binds command-line flags to the configuration; flags parsed
// after Load and ApplyEnv win over both.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.AETitle, "aet", c.AETitle, "the archive's AE title")
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory (blobs and SQLite index)")
	fs.StringVar(&c.DICOM.Addr, "dicom-addr", c.DICOM.Addr, "DIMSE listen address (\"\" disables)")
	fs.StringVar(&c.DICOM.TLSAddr, "dicom-tls-addr", c.DICOM.TLSAddr, "DIMSE over TLS listen address")
	fs.StringVar(&c.DICOM.TLS.CertFile, "dicom-tls-cert", c.DICOM.TLS.CertFile, "certificate file for DIMSE over TLS")
	fs.StringVar(&c.DICOM.TLS.KeyFile, "dicom-tls-key", c.DICOM.TLS.KeyFile, "key file for DIMSE over TLS")
	fs.StringVar(&c.HTTP.Addr, "http-addr", c.HTTP.Addr, "HTTP listen address (\"\" disables)")
	fs.StringVar(&c.Index.Backend, "index", c.Index.Backend, "index backend: sqlite or postgres")
	fs.StringVar(&c.Index.DSN, "pg", c.Index.DSN, "PostgreSQL connection string (with -index postgres)")
	indexAttrsSet := false
	fs.Func("index-attr", "attribute outside the model to index for queries, [LEVEL:]NAME[@CREATOR][/VR] (repeatable; "+
		"replaces the configured list)", func(v string) error {
		if !indexAttrsSet {
			c.Index.QueryAttributes, indexAttrsSet = nil, true
		}
		c.Index.QueryAttributes = append(c.Index.QueryAttributes, SplitAttributeList(v)...)
		return nil
	})
	fs.StringVar(&c.Storage.Duplicates, "duplicates", c.Storage.Duplicates, "duplicate SOP Instance UID policy: keep-first, replace or reject")
	fs.StringVar(&c.Storage.CompressAtRest, "compress-at-rest", c.Storage.CompressAtRest, "compress native images at ingest: off, jpeg-ls, jpeg2000 or rle (lossless)")
	fs.BoolVar(&c.Storage.KeepOriginal, "keep-original", c.Storage.KeepOriginal, "with -compress-at-rest, also keep the received bytes")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
}

// Validate checks the configuration and returns every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if c.AETitle == "" || len(c.AETitle) > 16 || strings.ContainsAny(c.AETitle, `\`) {
		errs = append(errs, fmt.Errorf("ae_title %q must be 1-16 characters without backslash", c.AETitle))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir is empty"))
	}
	switch c.Index.Backend {
	case "sqlite":
	case "postgres":
		if c.Index.DSN == "" {
			errs = append(errs, errors.New("index backend postgres needs a dsn"))
		}
	default:
		errs = append(errs, fmt.Errorf("index backend %q is neither sqlite nor postgres", c.Index.Backend))
	}
	switch c.Storage.Duplicates {
	case "keep-first", "replace", "reject":
	default:
		errs = append(errs, fmt.Errorf("storage duplicates %q is not keep-first, replace or reject", c.Storage.Duplicates))
	}
	if _, ok := compressSyntaxes[c.Storage.CompressAtRest]; !ok {
		errs = append(errs, fmt.Errorf("storage compress_at_rest %q is not off, jpeg-ls, jpeg2000 or rle (or their transfer syntax UID)", c.Storage.CompressAtRest))
	}
	if c.Storage.KeepOriginal && c.Storage.CompressSyntax() == "" {
		errs = append(errs, errors.New("storage keep_original needs compress_at_rest"))
	}
	if c.DICOM.TLSAddr != "" && !c.DICOM.TLS.Enabled() {
		errs = append(errs, errors.New("dicom tls_addr is set but tls cert_file/key_file are not"))
	}
	if c.HTTP.TLS.CertFile != "" && c.HTTP.TLS.KeyFile == "" {
		errs = append(errs, errors.New("http tls cert_file without key_file"))
	}
	seen := map[string]bool{}
	for i, r := range c.RemoteAEs {
		switch {
		case r.AETitle == "" || len(r.AETitle) > 16:
			errs = append(errs, fmt.Errorf("remote_aes[%d]: ae_title %q must be 1-16 characters", i, r.AETitle))
		case seen[r.AETitle]:
			errs = append(errs, fmt.Errorf("remote_aes[%d]: ae_title %q listed twice", i, r.AETitle))
		case r.Host == "" || r.Port <= 0 || r.Port > 65535:
			errs = append(errs, fmt.Errorf("remote_aes[%d] %s: host and port 1-65535 are required", i, r.AETitle))
		}
		seen[r.AETitle] = true
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q is not debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// RemoteAE returns the known peer with the AE title.
func (c *Config) RemoteAE(aeTitle string) (RemoteAE, bool) {
	for _, r := range c.RemoteAEs {
		if r.AETitle == strings.TrimSpace(aeTitle) {
			return r, true
		}
	}
	return RemoteAE{}, false
}

// IndexPath returns where the SQLite index lives.
func (c *Config) IndexPath() string { return filepath.Join(c.DataDir, "index.db") }

// BlobDir returns where instance files live.
func (c *Config) BlobDir() string { return filepath.Join(c.DataDir, "blobs") }
