package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.AETitle != "LIGHTBOX" || c.DICOM.Addr != ":11112" || c.HTTP.Addr != ":8080" || c.Index.Backend != "sqlite" {
		t.Errorf("defaults changed: %+v", c)
	}
}

func TestLoadFile(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "full.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.AETitle != "PACS1" || c.Index.DSN == "" || c.Storage.Duplicates != "replace" || !c.DICOM.TLS.Enabled() {
		t.Errorf("loaded %+v", c)
	}
	if r, ok := c.RemoteAE("WS1"); !ok || r.Address() != "10.0.0.5:104" {
		t.Errorf("remote AE = %+v %v", r, ok)
	}
	// Settings the file leaves out keep their defaults.
	if c.DICOM.IdleTimeoutSeconds != 300 {
		t.Errorf("idle timeout default lost: %d", c.DICOM.IdleTimeoutSeconds)
	}
}

func TestLoadRejectsUnknownKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(p, []byte(`{"ae_titel": "X"}`), 0o644)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "ae_titel") {
		t.Errorf("typo accepted: %v", err)
	}
}

func TestPrecedence(t *testing.T) {
	c, _ := Load(filepath.Join("testdata", "full.json"))
	env := map[string]string{"LIGHTBOX_AE_TITLE": "FROMENV", "LIGHTBOX_HTTP_ADDR": "127.0.0.1:9999"}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-aet", "FROMFLAG"}); err != nil {
		t.Fatal(err)
	}
	if c.AETitle != "FROMFLAG" || c.HTTP.Addr != "127.0.0.1:9999" || c.DataDir != "/var/lib/lightbox" {
		t.Errorf("precedence wrong: %+v", c)
	}
	if err := c.ApplyEnv(func(k string) string {
		if k == "LIGHTBOX_MAX_ASSOCIATIONS" {
			return "many"
		}
		return ""
	}); err == nil {
		t.Error("bad number accepted")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"long AE title", func(c *Config) { c.AETitle = "THIS_IS_TOO_LONG_X" }, "ae_title"},
		{"empty AE title", func(c *Config) { c.AETitle = "" }, "ae_title"},
		{"postgres without dsn", func(c *Config) { c.Index.Backend = "postgres" }, "dsn"},
		{"unknown backend", func(c *Config) { c.Index.Backend = "mysql" }, "mysql"},
		{"bad duplicates", func(c *Config) { c.Storage.Duplicates = "merge" }, "merge"},
		{"tls addr without cert", func(c *Config) { c.DICOM.TLSAddr = ":2762" }, "tls"},
		{"remote AE without port", func(c *Config) { c.RemoteAEs = []RemoteAE{{AETitle: "A", Host: "h"}} }, "port"},
		{"remote AE twice", func(c *Config) {
			c.RemoteAEs = []RemoteAE{{AETitle: "A", Host: "h", Port: 1}, {AETitle: "A", Host: "h", Port: 2}}
		}, "twice"},
		{"log level", func(c *Config) { c.LogLevel = "loud" }, "loud"},
	} {
		c := Default()
		tc.change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want mention of %q", tc.name, err, tc.want)
		}
	}
}

func TestCompressAtRest(t *testing.T) {
	for _, c := range []struct {
		env, flag string
		keep      string
		want      string
		ok        bool
	}{
		{"", "", "", "", true},
		{"off", "", "", "", true},
		{"jpeg-ls", "", "", "1.2.840.10008.1.2.4.80", true},
		{"", "jpeg2000", "", "1.2.840.10008.1.2.4.90", true},
		{"rle", "1.2.840.10008.1.2.4.80", "true", "1.2.840.10008.1.2.4.80", true},
		{"1.2.840.10008.1.2.5", "", "1", "1.2.840.10008.1.2.5", true},
		{"jpeg", "", "", "", false},                   // lossy JPEG is not a lossless at-rest syntax
		{"1.2.840.10008.1.2.4.81", "", "", "", false}, // near-lossless
		{"", "", "true", "", false},                   // keep_original without compression
	} {
		cfg := Default()
		env := map[string]string{"LIGHTBOX_COMPRESS_AT_REST": c.env, "LIGHTBOX_KEEP_ORIGINAL": c.keep}
		if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		cfg.RegisterFlags(fs)
		var args []string
		if c.flag != "" {
			args = []string{"-compress-at-rest", c.flag}
		}
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		err := cfg.Validate()
		if (err == nil) != c.ok {
			t.Errorf("%+v: Validate = %v", c, err)
			continue
		}
		if got := cfg.Storage.CompressSyntax(); c.ok && got != c.want {
			t.Errorf("%+v: CompressSyntax = %q, want %q", c, got, c.want)
		}
		if c.ok && cfg.Storage.KeepOriginal != (c.keep != "") {
			t.Errorf("%+v: KeepOriginal = %v", c, cfg.Storage.KeepOriginal)
		}
	}
	cfg := Default()
	if err := cfg.ApplyEnv(func(k string) string { return map[string]string{"LIGHTBOX_KEEP_ORIGINAL": "maybe"}[k] }); err == nil {
		t.Error("LIGHTBOX_KEEP_ORIGINAL=maybe accepted")
	}
}

func TestQueryAttributes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(p, []byte(`{"index": {"query_attributes": ["SERIES:ProtocolName", "(0019,xx0C)@GEMS_ACQU_01/DS"]}}`), 0o644)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Index.QueryAttributes, "|"); got != "SERIES:ProtocolName|(0019,xx0C)@GEMS_ACQU_01/DS" {
		t.Errorf("from file: %q", got)
	}
	env := map[string]string{"LIGHTBOX_INDEX_QUERY_ATTRIBUTES": "OperatorsName, SERIES:(0019,100C)@GEMS_ACQU_01/DS;StationName"}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Index.QueryAttributes, "|"); got != "OperatorsName|SERIES:(0019,100C)@GEMS_ACQU_01/DS|StationName" {
		t.Errorf("from env: %q", got)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-index-attr", "ContrastBolusAgent", "-index-attr", "STUDY:InstitutionalDepartmentName"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Index.QueryAttributes, "|"); got != "ContrastBolusAgent|STUDY:InstitutionalDepartmentName" {
		t.Errorf("flags replace the list: %q", got)
	}
}

func TestSplitAttributeList(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"A,B", "A|B"},
		{" A ; B ,, ", "A|B"},
		{"(0019,100C)@X Y/LO,SERIES:(0029,xx10)@Z", "(0019,100C)@X Y/LO|SERIES:(0029,xx10)@Z"},
	} {
		if got := strings.Join(SplitAttributeList(tc.in), "|"); got != tc.want {
			t.Errorf("SplitAttributeList(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
