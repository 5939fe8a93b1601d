// Package bench is `rolegate bench`: sections that each measure a part of
// rolegate against a baseline measured in the same run, and the table they
// print. The command in cmd/rolegate parses the flags and calls Run.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/store"
)

// Settings are the parsed flags of `rolegate bench` and what the bench
// needs from the command that runs it.
type Settings struct {
	AdminURL     string        // a role that may create databases
	Requests     int           // approved requests provisioned per run
	Latency      time.Duration // of every call to the local IAM endpoint
	Concurrency  []int         // worker concurrencies of the provision section
	CPUProfile   string        // file for a pprof CPU profile; "" for none
	KeepDatabase bool          // keep the bench databases for inspection

	APIConcurrency []int // client concurrencies of the api section
	APIRequests    int   // requests created per API concurrency
	ServerConns    int   // the server's pool in the api section; 0: the highest API concurrency
	DashboardRows  []int // requests stored for the dashboard section, one run each
	DashboardPages int   // fetches of each dashboard and events page timed
	EventRows      int   // audit events stored for the events section
	// ReuseSeeded keeps the seeded databases of the dashboard and events
	// sections (rolegate_bench_seeded_*) and uses them again in later runs.
	ReuseSeeded bool
	DriftRoles  int // active roles of the drift section
	DriftSample int // of which the per-role drift check reads this many

	// Version names the build in the header line of the table.
	Version string
	// Server returns the command, not yet started, that runs the rolegate
	// server the api and dashboard sections measure; it fails when there
	// is no binary to run.
	Server func(ServerOptions) (*exec.Cmd, error)
}

// ServerOptions is what a section asks of the server process it measures.
type ServerOptions struct {
	DatabaseURL   string
	Listen        string // a free loopback host:port
	MaxConns      int    // the server's database pool; 0: the server's default
	ApproverGroup string // the group whose members the server makes approvers
	SessionKey    string // base64 of 32 bytes
}

// env is what every bench section gets: the settings, a way to make
// (and later drop) a database of its own, and where to report progress.
type env struct {
	settings Settings
	runID    string
	progress io.Writer
	dbs      []string
	// peakKB is the highest peak RSS seen before a section reset the
	// kernel's record of it to measure its own.
	peakKB int64
}

// Section is one part of the benchmark. Sections run in order; each
// returns its rows. Adding one (API creation throughput against direct
// INSERTs, the dashboard against its bare SQL) is adding it to Sections.
type Section struct {
	Name    string
	Summary string
	run     func(ctx context.Context, e *env) ([]tableRow, error)
}

// Sections lists every section, in the order they run by default.
func Sections() []Section {
	return []Section{
		{"api", "request creation through the API of a server process against direct pgx INSERTs at each concurrency; server memory", benchAPI},
		{"dashboard", "approver dashboard pages, search included, over HTTP against their bare SQL at each number of stored requests; server memory", benchDashboard},
		{"events", "the audit log page and GET /api/v1/events over HTTP against their bare SQL over stored events; server memory", benchEvents},
		{"provision", "provisioning throughput against the floor of IAM calls at each worker concurrency; second apply; memory", benchProvision},
		{"drift", "drift check of the active roles reading IAM in bulk against reading each role: IAM calls, wall time; memory", benchDrift},
	}
}

// Run runs sections in order with settings s, reporting progress on
// stderr, and prints the table on stdout. It returns the first error of
// a section (after printing the rows measured until then) or of the CPU
// profile.
func Run(ctx context.Context, s Settings, sections []Section, stdout, stderr io.Writer) error {
	if s.CPUProfile != "" {
		f, err := os.Create(s.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	e := &env{settings: s, runID: randomHex(4), progress: stderr}
	defer e.dropDatabases()
	start := time.Now()
	var rows []tableRow
	for _, sec := range sections {
		fmt.Fprintf(stderr, "bench: %s: %s\n", sec.Name, sec.Summary)
		got, err := sec.run(ctx, e)
		rows = append(rows, got...)
		if err != nil {
			printTable(stdout, rows)
			return fmt.Errorf("bench %s: %w", sec.Name, err)
		}
	}
	rows = append(rows, memoryRow(e.peakKB))
	fmt.Fprintf(stdout, "rolegate bench %s: %d CPUs, %s, %s, %d requests per run, IAM latency %s, took %s\n\n",
		s.Version, runtime.NumCPU(), runtime.Version(), memTotal(), s.Requests, s.Latency, time.Since(start).Round(time.Second))
	printTable(stdout, rows)
	return nil
}

// newDatabase creates an empty database for one run and returns its URL;
// it is dropped when the bench ends unless --keep-database.
func (e *env) newDatabase(ctx context.Context, suffix string) (string, error) {
	name := "rolegate_bench_" + e.runID + "_" + suffix
	conn, err := pgx.Connect(ctx, e.settings.AdminURL)
	if err != nil {
		return "", fmt.Errorf("connect to the admin database: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	e.dbs = append(e.dbs, name)
	return databaseURL(e.settings.AdminURL, name), nil
}

// newStore makes a database of the bench's own, opens a store on it with
// opts (a 5 s connect timeout) and migrates it. The caller closes the store.
func (e *env) newStore(ctx context.Context, suffix string, opts store.Options) (*store.DB, string, error) {
	dbURL, err := e.newDatabase(ctx, suffix)
	if err != nil {
		return nil, "", err
	}
	db, err := openMigrated(ctx, dbURL, opts)
	return db, dbURL, err
}

// openMigrated opens a store on dbURL with opts (a 5 s connect timeout)
// and migrates it. The caller closes the store.
func openMigrated(ctx context.Context, dbURL string, opts store.Options) (*store.DB, error) {
	opts.ConnectTimeout = 5 * time.Second
	db, err := store.Open(ctx, dbURL, opts)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx, nil); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (e *env) dropDatabases() {
	if e.settings.KeepDatabase || len(e.dbs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.settings.AdminURL)
	if err != nil {
		fmt.Fprintf(e.progress, "bench: cannot drop %s: %v\n", strings.Join(e.dbs, ", "), err)
		return
	}
	defer conn.Close(ctx)
	for _, name := range e.dbs {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(e.progress, "bench: drop %s: %v\n", name, err)
		}
	}
}

// logf reports progress on stderr, so the table on stdout stays clean.
func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.progress, "bench: "+format+"\n", args...)
}

// logger is the quiet logger bench runs give the worker: warnings only.
func (e *env) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(e.progress, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// databaseURL points the admin URL (URL or key=value form) at database name.
func databaseURL(admin, name string) string {
	if u, err := url.Parse(admin); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	return admin + " dbname=" + name
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
