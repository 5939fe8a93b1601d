package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/store"
)

// benchSettings are the flags of `rolegate bench`.
type benchSettings struct {
	adminURL     string
	sections     string
	requests     int
	latency      time.Duration
	concurrency  []int
	cpuProfile   string
	keepDatabase bool

	apiConcurrency []int
	apiRequests    int
	serverConns    int
	dashboardRows  int
	dashboardPages int
}

// benchEnv is what every bench section gets: the settings, a way to make
// (and later drop) a database of its own, and where to report progress.
type benchEnv struct {
	settings benchSettings
	runID    string
	progress io.Writer
	dbs      []string
}

// benchRow is one line of the result table: a figure, the baseline measured
// in the same run, and the target the issue sets for their ratio.
type benchRow struct {
	section  string
	name     string
	measured string
	baseline string
	ratio    float64 // measured ÷ baseline; 0 when not a ratio
	target   string
	ok       bool
	note     string
}

// benchSection is one part of the benchmark. Sections run in order; each
// returns its rows. Adding one (API creation throughput against direct
// INSERTs, the dashboard against its bare SQL) is adding it to this list.
type benchSection struct {
	name    string
	summary string
	run     func(ctx context.Context, e *benchEnv) ([]benchRow, error)
}

func benchSections() []benchSection {
	return []benchSection{
		{"api", "request creation through the API of a server process against direct pgx INSERTs at each concurrency; server memory", benchAPI},
		{"dashboard", "approver dashboard pages over HTTP against their bare SQL over stored requests; server memory", benchDashboard},
		{"provision", "provisioning throughput against the ideal at each worker concurrency; second apply; memory", benchProvision},
	}
}

func cmdBench(ctx context.Context, c cli) error {
	var (
		errs        settingErrors
		s           benchSettings
		concurrency string
		apiConc     string
	)
	names := []string{}
	for _, sec := range benchSections() {
		names = append(names, sec.name)
	}
	fs := newFlagSet("bench", "bench [flags]", c.stderr)
	fs.StringVar(&s.adminURL, "database-url", c.getenv("DATABASE_URL"), "PostgreSQL URL of a role that may create databases; the bench creates and drops its own rolegate_bench_* databases [DATABASE_URL]")
	fs.StringVar(&s.sections, "sections", strings.Join(names, ","), "comma-separated sections to run: "+strings.Join(names, ", "))
	fs.IntVar(&s.requests, "requests", 1000, "approved requests provisioned per run")
	fs.DurationVar(&s.latency, "iam-latency", 50*time.Millisecond, "latency of every call to the in-process local IAM endpoint")
	fs.StringVar(&concurrency, "concurrency", "1,8,32", "comma-separated worker concurrencies to measure")
	fs.StringVar(&apiConc, "api-concurrency", "1,8,64", "comma-separated API client concurrencies to measure")
	fs.IntVar(&s.apiRequests, "api-requests", 2000, "requests created per API concurrency (and as many direct INSERTs)")
	fs.IntVar(&s.serverConns, "server-db-conns", 10, "the server's database pool in the api section (10 is serve's default; 0: as many as the highest concurrency)")
	fs.IntVar(&s.dashboardRows, "dashboard-rows", 100_000, "requests stored for the dashboard section")
	fs.IntVar(&s.dashboardPages, "dashboard-pages", 50, "fetches of each dashboard page timed")
	fs.StringVar(&s.cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) of the whole run to `file`")
	fs.BoolVar(&s.keepDatabase, "keep-database", false, "keep the bench databases for inspection")
	if err := fs.Parse(c.args); err != nil {
		return err
	}
	if s.adminURL == "" {
		errs.add("--database-url / DATABASE_URL: not set; point it at a PostgreSQL role that may create databases")
	}
	if s.requests < 1 || s.requests > 1_000_000 {
		errs.add("--requests: %d is not from 1 to 1000000", s.requests)
	}
	if s.latency < 0 {
		errs.add("--iam-latency: must not be negative")
	}
	for _, part := range splitList(concurrency) {
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 || n > 1000 {
			errs.add("--concurrency: %q is not a whole number from 1 to 1000", part)
			continue
		}
		s.concurrency = append(s.concurrency, n)
	}
	for _, part := range splitList(apiConc) {
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 || n > 1000 {
			errs.add("--api-concurrency: %q is not a whole number from 1 to 1000", part)
			continue
		}
		s.apiConcurrency = append(s.apiConcurrency, n)
	}
	if len(s.apiConcurrency) == 0 {
		errs.add("--api-concurrency: no concurrency given")
	}
	if s.apiRequests < 1 || s.apiRequests > 1_000_000 {
		errs.add("--api-requests: %d is not from 1 to 1000000", s.apiRequests)
	}
	if s.dashboardRows < 5000 || s.dashboardRows > 10_000_000 {
		errs.add("--dashboard-rows: %d is not from 5000 to 10000000", s.dashboardRows)
	}
	if s.dashboardPages < 1 || s.dashboardPages > 100_000 {
		errs.add("--dashboard-pages: %d is not from 1 to 100000", s.dashboardPages)
	}
	var run []benchSection
	for _, name := range splitList(s.sections) {
		found := false
		for _, sec := range benchSections() {
			if sec.name == name {
				run, found = append(run, sec), true
			}
		}
		if !found {
			errs.add("--sections: unknown section %q (known: %s)", name, strings.Join(names, ", "))
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	if s.cpuProfile != "" {
		f, err := os.Create(s.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	e := &benchEnv{settings: s, runID: randomHex(4), progress: c.stderr}
	defer e.dropDatabases()
	start := time.Now()
	var rows []benchRow
	for _, sec := range run {
		fmt.Fprintf(c.stderr, "bench: %s: %s\n", sec.name, sec.summary)
		got, err := sec.run(ctx, e)
		rows = append(rows, got...)
		if err != nil {
			printBenchTable(c.stdout, rows)
			return fmt.Errorf("bench %s: %w", sec.name, err)
		}
	}
	rows = append(rows, memoryRow())
	fmt.Fprintf(c.stdout, "rolegate bench %s: %d CPUs, %s, %s, %d requests per run, IAM latency %s, took %s\n\n",
		buildVersion(), runtime.NumCPU(), runtime.Version(), memTotal(), s.requests, s.latency, time.Since(start).Round(time.Second))
	printBenchTable(c.stdout, rows)
	return nil
}

// newDatabase creates an empty database for one run and returns its URL;
// it is dropped when the bench ends unless --keep-database.
func (e *benchEnv) newDatabase(ctx context.Context, suffix string) (string, error) {
	name := "rolegate_bench_" + e.runID + "_" + suffix
	conn, err := pgx.Connect(ctx, e.settings.adminURL)
	if err != nil {
		return "", fmt.Errorf("connect to the admin database: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	e.dbs = append(e.dbs, name)
	return databaseURL(e.settings.adminURL, name), nil
}

// newStore makes a database of the bench's own, opens a store on it with
// opts (a 5 s connect timeout) and migrates it. The caller closes the store.
func (e *benchEnv) newStore(ctx context.Context, suffix string, opts store.Options) (*store.DB, string, error) {
	dbURL, err := e.newDatabase(ctx, suffix)
	if err != nil {
		return nil, "", err
	}
	opts.ConnectTimeout = 5 * time.Second
	db, err := store.Open(ctx, dbURL, opts)
	if err != nil {
		return nil, "", err
	}
	if _, err := db.Migrate(ctx, nil); err != nil {
		db.Close()
		return nil, "", err
	}
	return db, dbURL, nil
}

func (e *benchEnv) dropDatabases() {
	if e.settings.keepDatabase || len(e.dbs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.settings.adminURL)
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
func (e *benchEnv) logf(format string, args ...any) {
	fmt.Fprintf(e.progress, "bench: "+format+"\n", args...)
}

// logger is the quiet logger bench runs give the worker: warnings only.
func (e *benchEnv) logger() *slog.Logger {
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

// memoryRow reports the peak resident set of this process (VmHWM), which
// holds the worker, the store and the local IAM endpoint during the run.
func memoryRow() benchRow {
	row := benchRow{section: "memory", name: "peak RSS of the bench process (VmHWM)", target: "≤ 100 MiB"}
	kb, err := procStatusKB("VmHWM")
	if err != nil {
		row.measured, row.note = "n/a", err.Error()
		return row
	}
	mib := float64(kb) / 1024
	row.measured = fmt.Sprintf("%.1f MiB", mib)
	row.ok = mib <= 100
	return row
}

// procStatusKB reads one "Name: N kB" line of /proc/self/status.
func procStatusKB(field string) (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, errors.New("no /proc/self/status on this system")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

// memTotal is the machine's memory for the report header.
func memTotal() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return "memory unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20))
			}
		}
	}
	return "memory unknown"
}

func printBenchTable(w io.Writer, rows []benchRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "section\tfigure\tmeasured\tbaseline\tratio\ttarget\tmet\t")
	for _, r := range rows {
		ratio := ""
		if r.ratio > 0 {
			ratio = fmt.Sprintf("%.2f×", r.ratio)
		}
		met := "yes"
		if !r.ok {
			met = "NO"
		}
		if r.target == "" {
			met = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.section, r.name, r.measured, r.baseline, ratio, r.target, met)
	}
	tw.Flush()
	for _, r := range rows {
		if r.note != "" {
			fmt.Fprintf(w, "\n%s / %s: %s", r.section, r.name, r.note)
		}
	}
	fmt.Fprintln(w)
}
