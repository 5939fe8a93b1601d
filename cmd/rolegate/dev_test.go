package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/pglocal"
)

// buildBinary builds rolegate once for the tests that run it as a process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rolegate")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestDevKeepsDataAcrossRestarts is the quick start: `rolegate dev` with no
// DATABASE_URL brings up its private PostgreSQL and the server, answers
// /readyz, stops cleanly on SIGINT, and comes back with the data kept.
func TestDevKeepsDataAcrossRestarts(t *testing.T) {
	t.Parallel()
	if _, err := pglocal.FindBinaries(nil, nil); err != nil {
		t.Fatalf("this test needs the PostgreSQL server binaries: %v", err)
	}
	bin := buildBinary(t)
	dataDir, err := os.MkdirTemp("", "rolegate-dev-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dataDir) })
	if err := os.Chmod(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}

	start := func() (string, func()) {
		t.Helper()
		cmd := exec.Command(bin, "dev", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--drift-interval", "0")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dataDir}
		logs := newSyncBuffer()
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		base := logs.waitFor(t, listeningRE, exited)
		stop := func() {
			t.Helper()
			cmd.Process.Signal(syscall.SIGINT)
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("dev exited with %v:\n%s", err, logs)
				}
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("dev did not stop within 60s:\n%s", logs)
			}
			if !strings.Contains(logs.String(), "private PostgreSQL stopped") {
				t.Fatalf("the private cluster was not stopped:\n%s", logs)
			}
		}
		return base, stop
	}

	base, stop := start()
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz on first start = %d %s", code, body)
	}
	cluster := filepath.Join(dataDir, "postgres")
	url := "host=" + cluster + " port=5432 user=postgres dbname=rolegate sslmode=disable"
	ctx := context.Background()
	db, err := store.Open(ctx, url, store.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	created, err := db.CreateRequest(ctx, store.NewRequest{Requester: "alice", Justification: "kept across restarts",
		Spec: provision.RoleSpec{Name: "survivor", Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	stop()

	base, stop = start()
	defer stop()
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz after restart = %d %s", code, body)
	}
	db, err = store.Open(ctx, url, store.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.GetRequest(ctx, created.ID)
	if err != nil || got.Spec.Name != "survivor" {
		t.Fatalf("request after restart: %+v, %v", got, err)
	}
}

func TestDevWithoutBinariesNamesTheWaysForward(t *testing.T) {
	t.Parallel()
	line := noBinariesError().Error()
	if strings.Contains(line, "\n") {
		t.Fatalf("not one line: %q", line)
	}
	for _, want := range []*regexp.Regexp{regexp.MustCompile(`install PostgreSQL`), regexp.MustCompile(`docker compose up`), regexp.MustCompile(`DATABASE_URL`)} {
		if !want.MatchString(line) {
			t.Errorf("%q does not mention %s", line, want)
		}
	}
}
