package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"maps"
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
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
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

func TestWrongSettingsFailFastWithOneLineEach(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"no database", []string{"serve"}, nil, []string{"DATABASE_URL: not set"}},
		// A worker shares serve's database (its queue): it said "not set"
		// and nothing of where to point it.
		{"worker without a database", []string{"worker"}, nil, []string{"DATABASE_URL: not set; point it at the database `rolegate serve` uses"}},
		{"unreachable database", []string{"serve"}, map[string]string{"DATABASE_URL": "postgres://rolegate:s3cret@127.0.0.1:1/rolegate"},
			[]string{"connect to PostgreSQL at 127.0.0.1:1/rolegate"}},
		{"unparsable database", []string{"serve"}, map[string]string{"DATABASE_URL": "postgres://u:s3cret@[::1/x"},
			[]string{"cannot parse the database URL"}},
		{"bad listen and log level", []string{"serve", "--listen", "8080", "--log-level", "loud"}, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x"},
			[]string{"--listen / LISTEN_ADDR", "--log-level / LOG_LEVEL"}},
		{"bad env duration", []string{"serve"}, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "SHUTDOWN_TIMEOUT": "soon"},
			[]string{"SHUTDOWN_TIMEOUT: \"soon\" is not a duration"}},
		// An environment variable's bad value names the flag it stands
		// for (it named the variable alone), and the flag given on the
		// command line wins over it: the database is what then fails.
		{"bad env number", []string{"serve"}, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "DB_MAX_CONNS": "abc"},
			[]string{`--db-max-conns / DB_MAX_CONNS: "abc" is not a whole number`}},
		{"bad env number under its flag", []string{"serve", "--db-max-conns", "5"}, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "DB_MAX_CONNS": "abc"},
			[]string{"connect to PostgreSQL at 127.0.0.1:1/x"}},
		{"bad review settings", []string{"serve", "--review-interval", "90 days"}, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "REVIEW_GRACE": "0"},
			[]string{`--review-interval / REVIEW_INTERVAL: "90 days" is not a duration (e.g. 90d or 2160h; 0 turns reviews off)`, "--review-grace / REVIEW_GRACE: 0 is not from 1h to 365d"}},
		{"unknown command", []string{"frobnicate"}, nil, []string{`unknown command "frobnicate"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// serve holds its --listen address from the start: the
			// default, 8080, would make the cases (run in parallel) and
			// whatever else listens there refuse each other.
			env := map[string]string{"LISTEN_ADDR": "127.0.0.1:0"}
			maps.Copy(env, tc.env)
			err := run(ctx, append([]string{"rolegate"}, tc.args...), func(k string) string { return env[k] }, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("run succeeded")
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("took %s", time.Since(start))
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("error has %d lines, want %d:\n%s", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d = %q, want it to mention %q", i+1, lines[i], w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows the password: %s", err)
			}
		})
	}
}

// flagLineRE is a flag's line in --help: its name and what its value is.
var flagLineRE = regexp.MustCompile(`(?m)^  -(\S+) (.+)$`)

func TestHelpOnEveryCommand(t *testing.T) {
	t.Parallel()
	for name := range commands() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(context.Background(), []string{"rolegate", name, "--help"}, func(string) string { return "" }, &out, &out)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("--help returned %v", err)
			}
			if !strings.Contains(out.String(), "Usage: rolegate "+name) {
				t.Fatalf("--help printed:\n%s", out.String())
			}
			// A flag's line shows what its value is: the flag package takes
			// the first `quoted` words of the usage for it, so a usage
			// quoting a command read "-data-dir rolegate dev".
			flags := flagLineRE.FindAllStringSubmatch(out.String(), -1)
			for _, m := range flags {
				if strings.Contains(m[2], "rolegate") {
					t.Errorf("-%s shows its value as %q", m[1], m[2])
				}
			}
			// A command without flags (version) printed a Flags heading
			// over nothing.
			if len(flags) == 0 && strings.Contains(out.String(), "Flags") {
				t.Errorf("--help of a command without flags has a Flags heading:\n%s", out.String())
			}
		})
	}
	// No command at all is a mistake (exit 2, usage on stderr), as in go
	// and git: it exited 0, so a script that lost its command went on.
	var stdout, stderr bytes.Buffer
	var exit errExitCode
	if err := run(context.Background(), []string{"rolegate"}, nil, &stdout, &stderr); !errors.As(err, &exit) || exit.code != 2 {
		t.Errorf("rolegate without a command returned %v, want exit code 2", err)
	}
	if stdout.Len() != 0 || !strings.Contains(stderr.String(), "Usage: rolegate <command>") {
		t.Errorf("rolegate without a command printed %q on stdout and %q on stderr, want the usage on stderr", stdout.String(), stderr.String())
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"rolegate", "help"}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for name := range commands() {
		if !strings.Contains(out.String(), name) {
			t.Errorf("help does not list %s", name)
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
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, _ := iamlocaltest.Send(t, http.DefaultClient, req); resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics with the token = %d, want 200", resp.StatusCode)
	}
	if strings.Contains(logs.String(), token) {
		t.Fatal("the metrics token was logged")
	}
}
