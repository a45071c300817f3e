package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/indextest"
)

const childEnv = "LIGHTBOX_INDEX_KILL_CHILD"

// runKillChild is the child process of TestKill9 (TestMain calls it when
// the environment names an index): it inserts batches into that index and
// reports each acknowledged SOP Instance UID on stdout until it is killed.
func runKillChild(spec string) {
	path, first, _ := strings.Cut(spec, "|")
	start, _ := strconv.Atoi(first)
	ix, err := Open(context.Background(), path, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	s := indextest.Synthetic{Instances: 1 << 30, InstancesPerSeries: 7, SeriesPerStudy: 3}
	out := bufio.NewWriter(os.Stdout)
	for i := start; ; i += 16 {
		var recs []index.InstanceRecord
		for k := range 16 {
			recs = append(recs, s.Record(i+k))
		}
		if _, err := ix.InsertBatch(context.Background(), recs); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		for _, r := range recs {
			fmt.Fprintln(out, "ack", r.Instance.SOPInstanceUID)
		}
		out.Flush()
	}
}

// TestKill9 kills a process in the middle of inserting, several times, and
// checks that every acknowledged instance survived and that the counts
// still agree with the rows.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "index.db")
	var acked []string
	rng := rand.New(rand.NewPCG(4, 2))
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%d", childEnv, path, round*1_000_000))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// The kill timer starts with the first acknowledgement, so a slow
		// start (race detector, loaded machine) cannot leave a round empty.
		var deadline <-chan time.Time
		killAfter := time.Duration(50+rng.IntN(700)) * time.Millisecond
		n := 0
	read:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break read
				}
				if uid, found := strings.CutPrefix(line, "ack "); found {
					acked = append(acked, uid)
					if n == 0 {
						deadline = time.After(killAfter)
					}
					n++
				} else if strings.HasPrefix(line, "error") {
					t.Fatalf("child: %s", line)
				}
			case <-deadline:
				cmd.Process.Kill() // SIGKILL
				deadline = nil
			case <-time.After(2 * time.Minute):
				cmd.Process.Kill()
				t.Fatalf("round %d: child silent for 2 minutes", round)
			}
		}
		cmd.Wait()
		t.Logf("round %d: %d instances acknowledged before SIGKILL", round, n)
		if n == 0 {
			t.Fatalf("round %d: child acknowledged nothing", round)
		}
	}

	ctx := context.Background()
	ix, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	var check string
	if err := ix.Store.Config().Writer.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	for _, uid := range acked {
		if _, err := ix.Instance(ctx, uid); err != nil {
			t.Fatalf("acknowledged instance %s lost: %v", uid, err)
		}
	}
	n, err := ix.Count(ctx, index.Query{Level: index.InstanceLevel})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ix.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Instances != n || n < len(acked) {
		t.Errorf("maintained count %d, rows %d, acknowledged %d", st.Instances, n, len(acked))
	}
	sum := 0
	if err := ix.Each(ctx, index.Query{Level: index.StudyLevel}, func(r index.InstanceRecord) error {
		sum += r.Study.NumberOfStudyRelatedInstances
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if sum != n {
		t.Errorf("study counts sum to %d, %d instance rows", sum, n)
	}
}
