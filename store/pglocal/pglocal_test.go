package pglocal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestFindBinaries(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mk := func(dir string, names ...string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	v13, v16, partial := filepath.Join(root, "13", "bin"), filepath.Join(root, "16", "bin"), filepath.Join(root, "17", "bin")
	mk(v13, "initdb", "pg_ctl", "postgres")
	mk(v16, "initdb", "pg_ctl", "postgres")
	mk(partial, "pg_ctl") // incomplete: skipped
	notOnPath := func(string) (string, error) { return "", errors.New("not found") }
	glob := func(string) ([]string, error) { return []string{v13, partial, v16}, nil }

	if got, err := FindBinaries(notOnPath, glob); err != nil || got != v16 {
		t.Fatalf("FindBinaries = %q, %v; want the newest complete version %q", got, err, v16)
	}
	onPath := func(string) (string, error) { return filepath.Join(v13, "pg_ctl"), nil }
	if got, err := FindBinaries(onPath, glob); err != nil || got != v13 {
		t.Fatalf("FindBinaries = %q, %v; want PATH's %q first", got, err, v13)
	}
	none := func(string) ([]string, error) { return nil, nil }
	if _, err := FindBinaries(notOnPath, none); !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("err = %v, want ErrNoBinaries", err)
	}
	if _, err := Start(context.Background(), Options{Dir: t.TempDir(), LookPath: notOnPath, Glob: none}); !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("Start without binaries: %v", err)
	}
}

// clusterParent returns a directory, removed when the test ends, for a
// test's cluster to live under. It fails the test without the server
// binaries.
func clusterParent(t *testing.T) string {
	t.Helper()
	if _, err := FindBinaries(nil, nil); err != nil {
		t.Fatalf("this test needs the PostgreSQL server binaries: %v", err)
	}
	parent, err := os.MkdirTemp("", "pglocal-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil { // the postgres user must reach it when tests run as root
		t.Fatal(err)
	}
	return parent
}

// A cluster keeps its data across stop and start, and a start finding the
// server still running (left by a killed process) adopts it.
func TestClusterKeepsDataAndAdoptsRunningServer(t *testing.T) {
	t.Parallel()
	parent := clusterParent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(parent, "pg")

	c, err := Start(ctx, Options{Dir: dir, Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(context.Background()) })
	if err := c.EnsureDatabase(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureDatabase(ctx, "app"); err != nil {
		t.Fatalf("second EnsureDatabase: %v", err)
	}
	exec := func(sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, c.URL("app"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, c.URL("app")); err == nil {
		t.Fatal("still accepting connections after Stop")
	}

	c2, err := Start(ctx, Options{Dir: dir, Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	// A second Start while it runs adopts the server rather than failing.
	c3, err := Start(ctx, Options{Dir: dir, Ephemeral: true})
	if err != nil {
		t.Fatalf("start over a running server: %v", err)
	}
	conn, err := pgx.Connect(ctx, c3.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
		t.Fatalf("data after restart: %d, %v", v, err)
	}
	conn.Close(ctx)
	if err := c2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c3.Stop(ctx); err != nil {
		t.Fatalf("stopping an already stopped cluster: %v", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("data directory mode %v, want 0700", fi.Mode().Perm())
	}
}

// As root the server runs as the postgres user, which must pass through
// every parent of the data directory; when it cannot, the error names the
// directory that stops it and the fix.
func TestSearchableByNamesTheDirectoryAndTheFix(t *testing.T) {
	t.Parallel()
	parent, err := os.MkdirTemp("", "pglocal-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	closed := filepath.Join(parent, "closed")
	open := filepath.Join(closed, "open")
	if err := os.MkdirAll(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	stranger := &syscall.Credential{Uid: 54321, Gid: 54321}
	err = searchableBy(open, stranger)
	if err == nil {
		t.Fatalf("searchableBy(%s) = nil, but %s is 0700", open, closed)
	}
	for _, want := range []string{"cannot enter " + closed + " ", "chmod o+x " + closed, "uid 54321"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	if err := os.Chmod(closed, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := searchableBy(open, stranger); err != nil {
		t.Fatalf("searchableBy after chmod o+x: %v", err)
	}
}

// Start creates missing parents of the data directory that the server's
// user can pass through (as root, the postgres user), not 0700 ones.
func TestStartCreatesMissingParents(t *testing.T) {
	t.Parallel()
	parent := clusterParent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{Dir: filepath.Join(parent, "not", "yet", "pg"), Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
