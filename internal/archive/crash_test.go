package archive

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/blob"
	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/postgres"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// The crash test re-executes the test binary as an importing child
// process (crashChildEnv set), lets it acknowledge instances, kills it
// with SIGKILL at a random moment, and checks the archive it leaves.
const (
	crashChildEnv = "LIGHTBOX_ARCHIVE_CRASH_CHILD"
	crashDirEnv   = "LIGHTBOX_ARCHIVE_CRASH_DIR"
	crashFilesEnv = "LIGHTBOX_ARCHIVE_CRASH_TEMPLATES"
	crashPGEnv    = "LIGHTBOX_ARCHIVE_CRASH_PG" // "DSN schema" for a PostgreSQL index
)

// openCrashIndex opens the index of a crash-test archive: SQLite in dir,
// or the PostgreSQL schema named by pg ("DSN schema").
func openCrashIndex(ctx context.Context, dir, pg string) (index.Index, error) {
	if pg == "" {
		return sqlite.Open(ctx, filepath.Join(dir, "index.db"), sqlite.Options{})
	}
	dsn, schema, _ := strings.Cut(pg, " ")
	return postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
}

// crashChild stores synthetic instances from 4 goroutines until killed,
// printing "SOP-UID SHA256" on stdout for each acknowledged one (one write
// per line, so a kill never leaves half a line).
func crashChild() int {
	dir := os.Getenv(crashDirEnv)
	ctx := context.Background()
	bs, err := blobfs.Open(filepath.Join(dir, "blobs"), blobfs.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	idx, err := openCrashIndex(ctx, dir, os.Getenv(crashPGEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var synths []*synth
	for _, p := range strings.Split(os.Getenv(crashFilesEnv), string(os.PathListSeparator)) {
		s, err := synthFromFile(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		synths = append(synths, s)
	}
	a := New(bs, idx, Options{Duplicates: Replace})
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(30 * time.Second) // never outlive a broken parent
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := synths[g%len(synths)]
			var last []byte
			for i := 0; time.Now().Before(deadline); i++ {
				data, _ := s.instance("", "")
				if i%5 == 4 && last != nil {
					data = variant(last, byte(i)) // a replacement of an earlier instance
				}
				res, err := a.Store(ctx, bytes.NewReader(data), IngestMeta{Size: int64(len(data))})
				if err != nil {
					fmt.Fprintln(os.Stderr, "store:", err)
					os.Exit(1)
				}
				last = data
				line := fmt.Sprintf("%s %s\n", res.SOPInstanceUID, hex.EncodeToString(res.SHA256[:]))
				mu.Lock()
				os.Stdout.WriteString(line)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return 0
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			pg := ""
			rounds := 5
			if raceEnabled {
				rounds = 3
			}
			if be.name == "postgres" {
				dsn, schema := pgSchema(t)
				pg = dsn + " " + schema
				rounds = 3
			}
			crashRounds(t, pg, rounds)
		})
	}
}

func crashRounds(t *testing.T, pg string, rounds int) {
	corpus := testenv.CorpusDir(t)
	templates := strings.Join([]string{
		filepath.Join(corpus, "ct/ct-693-bitsstored-mismatch.dcm"),
		filepath.Join(corpus, "mr/toshiba-mr-small-evrle.dcm"),
	}, string(os.PathListSeparator))
	dir := t.TempDir()
	acked := map[string]string{} // SOP Instance UID -> SHA-256 of the last acknowledged version
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDirEnv+"="+dir, crashFilesEnv+"="+templates, crashPGEnv+"="+pg)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		// Kill after a random number of acknowledgements (0 to 60), then a
		// random extra delay, so the kill lands anywhere in the pipeline.
		wantAcks := rng.IntN(60)
		if raceEnabled {
			wantAcks = rng.IntN(15)
		}
		got := 0
		timeout := time.After(20 * time.Second)
	wait:
		for got < wantAcks {
			select {
			case l, ok := <-lines:
				if !ok {
					break wait
				}
				record(acked, l)
				got++
			case <-timeout:
				break wait
			}
		}
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		for l := range lines {
			record(acked, l)
			got++
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: child was not killed (%v): %s", round, err, stderr.String())
		}
		t.Logf("round %d: killed after %d acknowledgements (%d acknowledged in all)", round, got, len(acked))
		verifyAfterCrash(t, dir, pg, acked)
	}
	if len(acked) == 0 {
		t.Fatal("the child acknowledged nothing")
	}
}

func record(acked map[string]string, line string) {
	if sop, sum, ok := strings.Cut(line, " "); ok {
		acked[sop] = sum
	}
}

// verifyAfterCrash reopens the stores the child left and checks that every
// acknowledged instance is indexed and intact, that no row lacks its blob,
// and that every visible blob is a whole instance.
func verifyAfterCrash(t *testing.T, dir, pg string, acked map[string]string) {
	t.Helper()
	ctx := context.Background()
	bs, err := blobfs.Open(filepath.Join(dir, "blobs"), blobfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := openCrashIndex(ctx, dir, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	a := New(bs, idx, Options{})
	defer a.Close()
	for sop, sum := range acked {
		r, rec, err := a.Retrieve(ctx, sop)
		if err != nil {
			t.Fatalf("acknowledged instance %s lost: %v", sop, err)
		}
		h := sha256.New()
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != sum && hex.EncodeToString(rec.Instance.SHA256[:]) != got {
			t.Fatalf("instance %s: blob digest %s does not match its index row", sop, got)
		} else if got != sum {
			// A later, unacknowledged replacement may have won; it must
			// still be a whole instance (checked below) and match its row.
			t.Logf("instance %s replaced after its acknowledgement", sop)
		}
	}
	rep, err := Check(ctx, bs, idx, CheckOptions{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	orphans := 0
	for _, p := range rep.Problems {
		if p.Kind != ProblemOrphanBlob {
			t.Errorf("after crash: %s", p)
		}
		orphans++
	}
	// Every visible blob is a complete instance.
	err = bs.Walk(ctx, func(info blob.Info) error {
		r, err := bs.Open(ctx, info.Key)
		if err != nil {
			return err
		}
		defer r.Close()
		if _, err := dicom.Read(r, r.Size(), dicom.ReadOptions{}); err != nil {
			t.Errorf("visible blob %s is not a whole instance: %v", info.Key, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("index %d rows, %d blobs, %d orphans (committed but never indexed, or replaced versions whose delete was cut short)", rep.Rows, rep.Blobs, orphans)
}
