package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m, removeSharedBinary) }

// openTestDB opens a store with opts on a fresh, migrated database of the
// test's own and returns it with the database's URL, for the commands
// under test to reach.
func openTestDB(t *testing.T, opts store.Options) (*store.DB, string) {
	t.Helper()
	url := storetest.URL(t)
	return storetest.Open(t, url, opts), url
}

// syncBuffer is an io.Writer the server logs into while the test reads it,
// with a channel that signals each write so tests can wait on a line.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{written: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.written <- struct{}{}:
	default:
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until the output matches re and returns the first group.
func (b *syncBuffer) waitFor(t *testing.T, re *regexp.Regexp, done <-chan error) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(b.String()); m != nil {
			return m[1]
		}
		select {
		case <-b.written:
		case err := <-done:
			t.Fatalf("rolegate exited before %s: %v\n%s", re, err, b.String())
		case <-timeout:
			t.Fatalf("no %s in 30s:\n%s", re, b.String())
		}
	}
}

var listeningRE = regexp.MustCompile(`msg="rolegate listening" addr=(http://\S+)`)

// startServe runs `rolegate serve` in-process on a random port and returns
// its base URL, a function that stops it (as SIGTERM would), a function
// that waits for run's result, and its log.
func startServe(t *testing.T, databaseURL string, extra ...string) (string, context.CancelFunc, func() (error, bool), *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := newSyncBuffer()
	env := map[string]string{"DATABASE_URL": databaseURL}
	done := make(chan error, 1)
	args := append([]string{"rolegate", "serve", "--listen", "127.0.0.1:0", "--db-max-conns", "4"}, extra...)
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, io.Discard, stderr) }()
	base := stderr.waitFor(t, listeningRE, done)
	var (
		once   sync.Once
		result error
		exited bool
	)
	wait := func() (error, bool) {
		once.Do(func() {
			select {
			case result = <-done:
				exited = true
			case <-time.After(20 * time.Second):
			}
		})
		return result, exited
	}
	t.Cleanup(func() {
		cancel()
		if _, ok := wait(); !ok {
			t.Error("serve did not stop within 20s")
		}
	})
	return base, cancel, wait, stderr
}

// waitUntil polls cond until it holds, failing the test after 20 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting until %s", what)
		case <-tick.C:
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	return getWithToken(t, url, "")
}

// getWithToken is get with the bearer token, when not "".
func getWithToken(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, body := iamlocaltest.Send(t, http.DefaultClient, req)
	return resp.StatusCode, string(body)
}

func TestServeHealthReadyMetricsAndShutdown(t *testing.T) {
	t.Parallel()
	dbURL := storetest.EmptyURL(t)
	base, stop, wait, logs := startServe(t, dbURL, "--ready-timeout", "30s")

	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz = %d %s", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d %s (serve should have migrated the empty database)", code, body)
	}
	if code, _ := get(t, base+"/"); code != 200 {
		t.Fatalf("/ = %d", code)
	}
	code, metrics := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		"go_goroutines",
		"rolegate_db_pool_total_connections",
		`rolegate_http_request_duration_seconds_count{method="GET",route="/readyz",status="200"} 1`,
		`rolegate_http_request_duration_seconds_count{method="GET",route="/",status="200"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A request in flight when the stop comes still completes. Hold the
	// migrations table locked so /readyz blocks inside its handler, stop the
	// server, then let the request finish.
	ctx := context.Background()
	db := storetest.Open(t, dbURL, store.Options{MaxConns: 2})
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE goose_db_version IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	inflight := make(chan int, 1)
	go func() {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			inflight <- 0
			return
		}
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	waitUntil(t, "the /readyz query waits on the lock", func() bool {
		var waiting bool
		err := db.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE relation = 'goose_db_version'::regclass AND NOT granted)`).Scan(&waiting)
		return err == nil && waiting
	})
	stop()
	waitUntil(t, "new connections are refused", func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if code := <-inflight; code != 200 {
		t.Fatalf("in-flight request got %d, want 200", code)
	}
	if err, exited := wait(); !exited || err != nil {
		t.Fatalf("serve after shutdown: exited %v, err %v", exited, err)
	}
	if !strings.Contains(logs.String(), `msg=stopped`) {
		t.Fatalf("no orderly stop in the log:\n%s", logs)
	}
}

func TestTwoServersOnAnEmptyDatabaseMigrateOnce(t *testing.T) {
	t.Parallel()
	url := storetest.EmptyURL(t)
	var wg sync.WaitGroup
	bases := make([]string, 2)
	for i := range bases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bases[i], _, _, _ = startServe(t, url)
		}()
	}
	wg.Wait()
	for _, b := range bases {
		if code, body := get(t, b+"/readyz"); code != 200 {
			t.Fatalf("%s/readyz = %d %s", b, code, body)
		}
	}
	db := storetest.Open(t, url, store.Options{MaxConns: 1})
	var applied, distinct int
	if err := db.Pool().QueryRow(context.Background(),
		`SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != distinct || applied == 0 {
		t.Fatalf("goose_db_version: %d rows for %d versions; each migration must be applied once", applied, distinct)
	}
}

// A server whose --listen address is taken stops at once, before it
// touches the database or starts a worker (or, in dev, a cluster or the
// local IAM endpoint): it migrated the database and ran jobs for a moment
// before it found the port taken.
func TestServeOnATakenPortStopsBeforeTheDatabase(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, cmd := range []string{"serve", "dev"} {
		url, dataDir := storetest.EmptyURL(t), t.TempDir()
		_, _, err := runCmd(t, map[string]string{"DATABASE_URL": url, "ROLEGATE_DATA_DIR": dataDir},
			cmd, "--listen", taken.Addr().String(), "--log-level", "warn")
		if err == nil || !strings.Contains(err.Error(), "--listen / LISTEN_ADDR: ") || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("%s on a taken port: %v, want the --listen address refused", cmd, err)
		}
		db := storetest.Open(t, url, store.Options{MaxConns: 1})
		var tables int
		if err := db.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`).Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("%s on a taken port left %d tables in the database; want it untouched", cmd, tables)
		}
		if _, err := os.Stat(filepath.Join(dataDir, "iam-local.json")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s on a taken port started the local IAM endpoint (its state: %v)", cmd, err)
		}
	}
}

func TestServeMetricsToken(t *testing.T) {
	t.Parallel()
	const token = "serve-metrics-token-0123"
	base, _, _, logs := startServe(t, storetest.EmptyURL(t), "--metrics-token", token)
	if code, _ := get(t, base+"/metrics"); code != http.StatusUnauthorized {
		t.Fatalf("/metrics without the token = %d, want 401", code)
	}
	if code, _ := getWithToken(t, base+"/metrics", token); code != http.StatusOK {
		t.Fatalf("/metrics with the token = %d, want 200", code)
	}
	if strings.Contains(logs.String(), token) {
		t.Fatal("the metrics token was logged")
	}
}
