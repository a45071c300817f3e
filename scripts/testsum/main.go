// Command testsum summarises `go test -json` streams for `make test` and
// .ci/run. It owns nothing but that: counting, progress lines, and the report.
//
// Usage:
//
//	testsum progress              < stream   # live one-line-per-package progress
//	testsum fuzzlist              < stream   # from `go test -list ^Fuzz -json`: "pkg Name" lines
//	testsum check NAME -- CMD ARGS...        # run a check, emit it as one test2json test
//	testsum report [-o FILE] STREAM...       # failures, skips, closing line; exit 1 on failure
//
// A stream is test2json output, possibly mixed with plain lines (go's own
// stderr). Besides test2json's actions, a stream may carry
// {"Action":"lightbox-exit","Package":STEP,"Output":"RC"}, written by
// scripts/test.sh after each step: a non-zero RC in a stream with no failure
// of its own counts as one failure, so a crash that test2json did not
// attribute is never lost.
//
// The report's closing line is the plain form CI reads:
//
//	tests: N passed, N failed, N skipped
//
// Counting: every test and subtest that reaches pass, fail or skip counts
// once; a test that started but never finished (panic, timeout) counts as
// failed; a package that failed with no failing test (build failure, crash in
// TestMain) counts as one failure.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// event is one test2json record (see `go doc test2json`).
type event struct {
	Time        time.Time `json:",omitempty"`
	Action      string
	Package     string  `json:",omitempty"`
	ImportPath  string  `json:",omitempty"`
	Test        string  `json:",omitempty"`
	Elapsed     float64 `json:",omitempty"`
	Output      string  `json:",omitempty"`
	FailedBuild string  `json:",omitempty"`
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	code := 0
	switch os.Args[1] {
	case "progress":
		err = progress(os.Stdin, os.Stdout)
	case "fuzzlist":
		err = fuzzList(os.Stdin, os.Stdout)
	case "check":
		code, err = check(os.Args[2:], os.Stdout)
	case "report":
		code, err = reportCmd(os.Args[2:], os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: testsum progress|fuzzlist < stream | check NAME -- CMD... | report [-o FILE] STREAM...")
	os.Exit(2)
}

// scan calls fn for each line of r, with the decoded event if the line is one.
func scan(r io.Reader, fn func(line string, ev *event)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		var ev event
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &ev) == nil && ev.Action != "" {
			fn(line, &ev)
		} else {
			fn(line, nil)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading stream: %w", err)
	}
	return nil
}

// progress prints one line per finished package, failing tests as they fail,
// build errors, and plain (non-JSON) lines as they come.
func progress(r io.Reader, w io.Writer) error {
	return scan(r, func(line string, ev *event) {
		if ev == nil {
			fmt.Fprintln(w, line)
			return
		}
		switch {
		case ev.Action == "build-output":
			fmt.Fprint(w, ev.Output)
		case ev.Test != "" && ev.Action == "fail":
			fmt.Fprintf(w, "--- FAIL: %s (%s)\n", ev.Test, ev.Package)
		case ev.Test == "" && ev.Action == "pass":
			fmt.Fprintf(w, "ok   %s\t%.2fs\n", ev.Package, ev.Elapsed)
		case ev.Test == "" && ev.Action == "fail":
			fmt.Fprintf(w, "FAIL %s\t%.2fs\n", ev.Package, ev.Elapsed)
		case ev.Test == "" && ev.Action == "skip":
			fmt.Fprintf(w, "?    %s\t[no test files]\n", ev.Package)
		}
	})
}

// fuzzList prints "package FuzzName" for every fuzz target that
// `go test -list ^Fuzz -json` reported.
func fuzzList(r io.Reader, w io.Writer) error {
	return scan(r, func(_ string, ev *event) {
		if ev == nil || ev.Action != "output" || ev.Test != "" {
			return
		}
		name := strings.TrimSpace(ev.Output)
		if strings.HasPrefix(name, "Fuzz") && !strings.ContainsAny(name, " \t") {
			fmt.Fprintf(w, "%s %s\n", ev.Package, name)
		}
	})
}

// check runs a command and writes it to w as a test2json test named name in
// the package "checks", with its combined output.
func check(args []string, w io.Writer) (int, error) {
	if len(args) < 3 || args[1] != "--" {
		return 0, fmt.Errorf("check: want NAME -- CMD [ARGS...]")
	}
	name, argv := args[0], args[2:]
	enc := json.NewEncoder(w)
	start := time.Now()
	out, runErr := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	emit := func(action, output string) error {
		return enc.Encode(event{Time: time.Now(), Action: action, Package: "checks", Test: name,
			Elapsed: time.Since(start).Seconds(), Output: output})
	}
	if err := emit("run", ""); err != nil {
		return 0, err
	}
	for _, l := range strings.SplitAfter(string(out), "\n") {
		if l != "" {
			if err := emit("output", l); err != nil {
				return 0, err
			}
		}
	}
	action, code := "pass", 0
	if runErr != nil {
		action, code = "fail", 1
		if _, ok := runErr.(*exec.ExitError); !ok {
			if err := emit("output", runErr.Error()+"\n"); err != nil {
				return 0, err
			}
		}
	}
	return code, emit(action, "")
}

// testResult is what one stream says about one test.
type testResult struct {
	pkg, name string
	action    string // run (unfinished), pass, fail, skip
	output    []string
}

// pkgResult is what one stream says about one package.
type pkgResult struct {
	action      string
	output      []string
	buildOutput []string
	failedBuild bool
}

// summary is the merged result of all streams.
type summary struct {
	passed, failed, skipped int
	failures                []failure
	skips                   []failure
}

// failure names a failed (or skipped) unit and the output that explains it.
type failure struct {
	name   string
	output []string
}

// summarise reads every stream and counts.
func summarise(streams map[string]io.Reader, order []string) (*summary, error) {
	s := &summary{}
	for _, name := range order {
		if err := summariseStream(s, name, streams[name]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func summariseStream(s *summary, streamName string, r io.Reader) error {
	tests := map[string]*testResult{}
	var testOrder []string
	pkgs := map[string]*pkgResult{}
	var pkgOrder []string
	var exits []event
	var plain []string
	pkg := func(name string) *pkgResult {
		p, ok := pkgs[name]
		if !ok {
			p = &pkgResult{}
			pkgs[name] = p
			pkgOrder = append(pkgOrder, name)
		}
		return p
	}
	err := scan(r, func(line string, ev *event) {
		if ev == nil {
			if strings.TrimSpace(line) != "" {
				plain = append(plain, line)
			}
			return
		}
		switch {
		case ev.Action == "lightbox-exit":
			exits = append(exits, *ev)
		case ev.Action == "build-output":
			p := pkg(importPackage(ev.ImportPath))
			p.buildOutput = append(p.buildOutput, strings.TrimRight(ev.Output, "\n"))
		case ev.Action == "build-fail":
			pkg(importPackage(ev.ImportPath)).failedBuild = true
		case ev.Test == "":
			p := pkg(ev.Package)
			switch ev.Action {
			case "output":
				p.output = append(p.output, strings.TrimRight(ev.Output, "\n"))
			case "pass", "fail", "skip":
				p.action = ev.Action
				if ev.FailedBuild != "" {
					p.failedBuild = true
				}
			}
		default:
			key := ev.Package + "\x00" + ev.Test
			t, ok := tests[key]
			if !ok {
				t = &testResult{pkg: ev.Package, name: ev.Test, action: "run"}
				tests[key] = t
				testOrder = append(testOrder, key)
			}
			switch ev.Action {
			case "output":
				t.output = append(t.output, strings.TrimRight(ev.Output, "\n"))
			case "pass", "fail", "skip":
				t.action = ev.Action
			}
		}
	})
	if err != nil {
		return fmt.Errorf("%s: %w", streamName, err)
	}

	failedBefore := len(s.failures)
	failedTests := map[string]bool{}
	for _, key := range testOrder {
		if t := tests[key]; t.action == "fail" || t.action == "run" {
			failedTests[key] = true
		}
	}
	failedPkgTests := map[string]int{}
	for _, key := range testOrder {
		t := tests[key]
		switch t.action {
		case "pass":
			s.passed++
		case "skip":
			s.skipped++
			s.skips = append(s.skips, failure{name: t.pkg + "." + t.name, output: t.output})
		case "fail", "run":
			s.failed++
			failedPkgTests[t.pkg]++
			name := t.pkg + "." + t.name
			if t.action == "run" {
				name += " (never finished: panic or timeout?)"
			}
			out := t.output
			if hasFailedChild(failedTests, key) {
				out = nil // the failing subtests carry the output
			}
			s.failures = append(s.failures, failure{name: name, output: out})
		}
	}
	for _, name := range pkgOrder {
		p := pkgs[name]
		if failedPkgTests[name] > 0 {
			continue
		}
		switch {
		case p.failedBuild || (p.action == "" && len(p.buildOutput) > 0):
			s.failed++
			s.failures = append(s.failures, failure{name: name + " [build failed]", output: append(p.buildOutput, p.output...)})
		case p.action == "fail":
			s.failed++
			s.failures = append(s.failures, failure{name: name + " [package failed with no failing test]", output: p.output})
		}
	}
	if len(s.failures) == failedBefore {
		for _, e := range exits {
			if strings.TrimSpace(e.Output) != "0" {
				s.failed++
				s.failures = append(s.failures, failure{
					name:   fmt.Sprintf("%s [exited %s with no failing test recorded]", e.Package, strings.TrimSpace(e.Output)),
					output: plain,
				})
				break
			}
		}
	}
	return nil
}

// importPackage maps a build ImportPath such as "p [p.test]" to "p".
func importPackage(importPath string) string {
	if i := strings.IndexByte(importPath, ' '); i > 0 {
		return importPath[:i]
	}
	return importPath
}

func hasFailedChild(failed map[string]bool, key string) bool {
	for k := range failed {
		if strings.HasPrefix(k, key+"/") {
			return true
		}
	}
	return false
}

// maxLines bounds the output printed per failure; the middle is elided.
const maxLines = 200

func writeReport(w io.Writer, s *summary) {
	if len(s.skips) > 0 {
		fmt.Fprintf(w, "\n=== %d skipped test(s):\n", len(s.skips))
		sort.SliceStable(s.skips, func(i, j int) bool { return s.skips[i].name < s.skips[j].name })
		for _, sk := range s.skips {
			fmt.Fprintf(w, "  SKIP %s: %s\n", sk.name, skipReason(sk.output))
		}
	}
	if len(s.failures) > 0 {
		fmt.Fprintf(w, "\n=== %d failure(s):\n", len(s.failures))
		for _, f := range s.failures {
			fmt.Fprintf(w, "\n--- FAIL: %s\n", f.name)
			out := f.output
			if len(out) > maxLines {
				omitted := len(out) - maxLines
				out = append(append(append([]string{}, out[:maxLines/2]...),
					fmt.Sprintf("    ... %d lines omitted ...", omitted)), out[len(out)-maxLines/2:]...)
			}
			for _, l := range out {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
		fmt.Fprintln(w, "\nFailed:")
		for _, f := range s.failures {
			fmt.Fprintf(w, "  %s\n", f.name)
		}
	}
	fmt.Fprintf(w, "\n%s\n", s.closingLine())
}

func (s *summary) closingLine() string {
	return fmt.Sprintf("tests: %d passed, %d failed, %d skipped", s.passed, s.failed, s.skipped)
}

// skipReason is the first line of a skipped test's output that is not
// test2json framing.
func skipReason(out []string) string {
	for _, l := range out {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		if len(t) > 240 {
			t = t[:240] + "..."
		}
		return t
	}
	return "(no reason given)"
}

func reportCmd(args []string, w io.Writer) (int, error) {
	outFile := ""
	if len(args) >= 2 && args[0] == "-o" {
		outFile, args = args[1], args[2:]
	}
	streams := map[string]io.Reader{}
	for _, name := range args {
		f, err := os.Open(name)
		if err != nil {
			return 0, fmt.Errorf("report: %w", err)
		}
		defer f.Close()
		streams[name] = f
	}
	s, err := summarise(streams, args)
	if err != nil {
		return 0, fmt.Errorf("report: %w", err)
	}
	writeReport(w, s)
	if outFile != "" {
		if err := os.WriteFile(outFile, []byte(s.closingLine()+"\n"), 0o644); err != nil {
			return 0, fmt.Errorf("report: %w", err)
		}
	}
	if s.failed > 0 {
		return 1, nil
	}
	return 0, nil
}
