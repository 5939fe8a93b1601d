package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// serve listens for changes to sessions on a connection of its own while
// it runs (so its pages need not read each session), and closes it when
// it stops.
func TestServeWatchesSessions(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	admin := storetest.Open(t, dbURL, store.Options{MaxConns: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	listeners := func() int { return watcherConnections(ctx, t, admin) }
	base, stop, wait, _ := startServe(t, dbURL, "--no-worker")
	waitUntil(t, "serve listens for session changes", func() bool { return listeners() == 1 })
	waitUntil(t, "/metrics says the watcher hears", func() bool {
		_, metrics := get(t, base+"/metrics")
		return strings.Contains(metrics, "\nrolegate_session_watch_hearing 1\n")
	})
	stop()
	if err, exited := wait(); !exited || err != nil {
		t.Fatalf("serve did not stop cleanly: exited %v, %v", exited, err)
	}
	// The server ends a backend a moment after its client closes it.
	waitUntil(t, "no connection listens once serve stopped", func() bool { return listeners() == 0 })
}

// With --remember-sessions=false (a pooler in transaction mode), serve
// keeps no listening connection and says it does not hear.
func TestServeRememberSessionsOff(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	admin := storetest.Open(t, dbURL, store.Options{MaxConns: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base, _, _, logs := startServe(t, dbURL, "--no-worker", "--remember-sessions=false")
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d", code)
	}
	if n := watcherConnections(ctx, t, admin); n != 0 {
		t.Fatalf("%d listening connections, want none", n)
	}
	if _, metrics := get(t, base+"/metrics"); !strings.Contains(metrics, "\nrolegate_session_watch_hearing 0\n") {
		t.Fatal("/metrics does not say the watcher is not hearing")
	}
	if l := logs.String(); !strings.Contains(l, "sessions are read from the database on every page") || strings.Contains(l, "changes to sessions") {
		t.Fatalf("the log does not say sessions are read on every page, or speaks of a watcher:\n%s", l)
	}
}

// watcherConnections counts the session watcher's connections to db's
// database.
func watcherConnections(ctx context.Context, t *testing.T, db *store.DB) (n int) {
	t.Helper()
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'rolegate session watcher'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
