package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestSummarise(t *testing.T) {
	tests := []struct {
		name                    string
		stream                  string
		passed, failed, skipped int
		failNames               []string
	}{
		{
			name: "pass fail skip with subtests",
			stream: `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"run","Package":"p","Test":"TestB/x"}
{"Action":"output","Package":"p","Test":"TestB/x","Output":"    b_test.go:9: boom\n"}
{"Action":"fail","Package":"p","Test":"TestB/x"}
{"Action":"fail","Package":"p","Test":"TestB"}
{"Action":"run","Package":"p","Test":"TestC"}
{"Action":"output","Package":"p","Test":"TestC","Output":"    c_test.go:3: no tool\n"}
{"Action":"skip","Package":"p","Test":"TestC"}
{"Action":"fail","Package":"p"}
`,
			passed: 1, failed: 2, skipped: 1,
			failNames: []string{"p.TestB", "p.TestB/x"},
		},
		{
			name: "build failure go1.24 style",
			stream: `{"ImportPath":"q [q.test]","Action":"build-output","Output":"q/a.go:3:1: syntax error\n"}
{"ImportPath":"q [q.test]","Action":"build-fail"}
{"Action":"start","Package":"q"}
{"Action":"output","Package":"q","Output":"FAIL\tq [build failed]\n"}
{"Action":"fail","Package":"q","FailedBuild":"q [q.test]"}
`,
			failed:    1,
			failNames: []string{"q [build failed]"},
		},
		{
			name: "test never finished",
			stream: `{"Action":"run","Package":"p","Test":"TestHang"}
{"Action":"output","Package":"p","Test":"TestHang","Output":"panic: test timed out\n"}
{"Action":"fail","Package":"p"}
`,
			failed:    1,
			failNames: []string{"p.TestHang (never finished: panic or timeout?)"},
		},
		{
			name: "non-zero exit with nothing attributed",
			stream: `go: some error outside test2json
{"Action":"lightbox-exit","Package":"go test ./...","Output":"1"}
`,
			failed:    1,
			failNames: []string{"go test ./... [exited 1 with no failing test recorded]"},
		},
		{
			name: "non-zero exit already explained by a failure",
			stream: `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"fail","Package":"p","Test":"TestA"}
{"Action":"fail","Package":"p"}
{"Action":"lightbox-exit","Package":"go test ./...","Output":"1"}
`,
			failed:    1,
			failNames: []string{"p.TestA"},
		},
		{
			name:   "no test files",
			stream: `{"Action":"skip","Package":"r"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := summarise(map[string]io.Reader{"s": strings.NewReader(tt.stream)}, []string{"s"})
			if err != nil {
				t.Fatal(err)
			}
			if s.passed != tt.passed || s.failed != tt.failed || s.skipped != tt.skipped {
				t.Errorf("got %s, want %d passed, %d failed, %d skipped", s.closingLine(), tt.passed, tt.failed, tt.skipped)
			}
			var names []string
			for _, f := range s.failures {
				names = append(names, f.name)
			}
			if strings.Join(names, "|") != strings.Join(tt.failNames, "|") {
				t.Errorf("failures %q, want %q", names, tt.failNames)
			}
		})
	}
}

func TestReportClosingLine(t *testing.T) {
	s := &summary{passed: 3, failed: 1, skipped: 2,
		failures: []failure{{name: "p.TestX", output: []string{"boom"}}},
		skips:    []failure{{name: "p.TestY", output: []string{"=== RUN TestY", "    y_test.go:1: LOUD: dcmdump missing"}}}}
	var buf bytes.Buffer
	writeReport(&buf, s)
	out := buf.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if got, want := lines[len(lines)-1], "tests: 3 passed, 1 failed, 2 skipped"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	for _, want := range []string{"--- FAIL: p.TestX", "    boom", "SKIP p.TestY: y_test.go:1: LOUD: dcmdump missing"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestFuzzList(t *testing.T) {
	in := `{"Action":"start","Package":"a"}
{"Action":"output","Package":"a","Output":"FuzzRead\n"}
{"Action":"output","Package":"a","Output":"FuzzParse\n"}
{"Action":"output","Package":"a","Output":"ok  \ta\t0.01s\n"}
{"Action":"output","Package":"b","Output":"TestFuzzy\n"}
`
	var buf bytes.Buffer
	if err := fuzzList(strings.NewReader(in), &buf); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "a FuzzRead\na FuzzParse\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
