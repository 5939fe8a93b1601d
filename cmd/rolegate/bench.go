package main

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/rolegate/rolegate/cmd/rolegate/internal/bench"
)

// cmdBench wires the flags of `rolegate bench` to the bench package.
func cmdBench(ctx context.Context, c cli) error {
	var (
		errs        settingErrors
		s           bench.Settings
		sections    string
		concurrency string
		apiConc     string
		dashRows    string
	)
	names := []string{}
	for _, sec := range bench.Sections() {
		names = append(names, sec.Name)
	}
	fs := newFlagSet("bench", "bench [flags]", c.stderr)
	fs.StringVar(&s.AdminURL, "database-url", c.getenv("DATABASE_URL"), "PostgreSQL URL of a role that may create databases; the bench creates and drops its own rolegate_bench_* databases [DATABASE_URL]")
	fs.StringVar(&sections, "sections", strings.Join(names, ","), "comma-separated sections to run: "+strings.Join(names, ", "))
	fs.IntVar(&s.Requests, "requests", 1000, "approved requests provisioned per run")
	fs.DurationVar(&s.Latency, "iam-latency", 50*time.Millisecond, "latency of every call to the in-process local IAM endpoint")
	fs.StringVar(&concurrency, "concurrency", "1,8,32", "comma-separated worker concurrencies to measure")
	fs.StringVar(&apiConc, "api-concurrency", "1,8,64", "comma-separated API client concurrencies to measure")
	fs.IntVar(&s.APIRequests, "api-requests", 2000, "requests created per API concurrency (and as many direct INSERTs)")
	fs.IntVar(&s.ServerConns, "server-db-conns", defaultDBMaxConns, "the server's database pool in the api section (10 is serve's default; 0: as many as the highest concurrency)")
	fs.StringVar(&dashRows, "dashboard-rows", "10000,100000,1000000", "comma-separated numbers of requests stored for the dashboard section, one run each")
	fs.IntVar(&s.DashboardPages, "dashboard-pages", 50, "fetches of each dashboard and events page timed")
	fs.IntVar(&s.EventRows, "event-rows", 5_000_000, "audit events stored for the events section")
	fs.BoolVar(&s.ReuseSeeded, "reuse-seeded", false, "keep the seeded databases of the dashboard and events sections (rolegate_bench_seeded_*) and use them again in later runs instead of seeding anew")
	fs.IntVar(&s.DriftRoles, "drift-roles", 10_000, "active roles of the drift section")
	fs.IntVar(&s.DriftSample, "drift-sample", 200, "of which the per-role drift check (the baseline) reads this many, scaled to all")
	fs.StringVar(&s.CPUProfile, "cpuprofile", "", "write a CPU profile (pprof) of the whole run to `file`")
	fs.BoolVar(&s.KeepDatabase, "keep-database", false, "keep the bench databases for inspection")
	if err := parseFlagsOnly(fs, c.args); err != nil {
		return err
	}
	if s.AdminURL == "" {
		errs.add("--database-url / DATABASE_URL: not set; point it at a PostgreSQL role that may create databases")
	}
	if s.Requests < 1 || s.Requests > 1_000_000 {
		errs.add("--requests: %d is not from 1 to 1000000", s.Requests)
	}
	if s.Latency < 0 {
		errs.add("--iam-latency: must not be negative")
	}
	s.Concurrency = concurrencies("--concurrency", concurrency, &errs)
	s.APIConcurrency = concurrencies("--api-concurrency", apiConc, &errs)
	if len(s.APIConcurrency) == 0 {
		errs.add("--api-concurrency: no concurrency given")
	}
	if s.APIRequests < 1 || s.APIRequests > 1_000_000 {
		errs.add("--api-requests: %d is not from 1 to 1000000", s.APIRequests)
	}
	for _, part := range splitList(dashRows) {
		n, err := strconv.Atoi(part)
		if err != nil || n < 5000 || n > 10_000_000 {
			errs.add("--dashboard-rows: %q is not a whole number from 5000 to 10000000", part)
			continue
		}
		s.DashboardRows = append(s.DashboardRows, n)
	}
	if len(s.DashboardRows) == 0 {
		errs.add("--dashboard-rows: no number of requests given")
	}
	if s.EventRows < 1000 || s.EventRows > 100_000_000 {
		errs.add("--event-rows: %d is not from 1000 to 100000000", s.EventRows)
	}
	if s.DashboardPages < 1 || s.DashboardPages > 100_000 {
		errs.add("--dashboard-pages: %d is not from 1 to 100000", s.DashboardPages)
	}
	if s.DriftRoles < 4 || s.DriftRoles > 100_000 {
		errs.add("--drift-roles: %d is not from 4 to 100000", s.DriftRoles)
	}
	if s.DriftSample < 1 || s.DriftSample > s.DriftRoles {
		errs.add("--drift-sample: %d is not from 1 to --drift-roles (%d)", s.DriftSample, s.DriftRoles)
	}
	var run []bench.Section
	for _, name := range splitList(sections) {
		found := false
		for _, sec := range bench.Sections() {
			if sec.Name == name {
				run, found = append(run, sec), true
			}
		}
		if !found {
			errs.add("--sections: unknown section %q (known: %s)", name, strings.Join(names, ", "))
		}
	}
	if err := errs.err(fs); err != nil {
		return err
	}
	s.Version = buildVersion()
	s.Server = benchServeCommand
	return bench.Run(ctx, s, run, c.stdout, c.stderr)
}

// concurrencies parses the comma-separated list of flag name, recording
// each entry that is not a whole number from 1 to 1000 among errs.
func concurrencies(name, list string, errs *settingErrors) []int {
	var out []int
	for _, part := range splitList(list) {
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 || n > 1000 {
			errs.add("%s: %q is not a whole number from 1 to 1000", name, part)
			continue
		}
		out = append(out, n)
	}
	return out
}

// benchServeCommand is `rolegate serve` from this binary as the bench
// measures it: no worker, an API rate limit no load of the bench reaches,
// warnings only, proxy sign-in trusted from loopback. It fails when the
// path of this binary is unknown.
func benchServeCommand(o bench.ServerOptions) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"serve",
		"--database-url", o.DatabaseURL, "--listen", o.Listen, "--no-worker",
		"--api-rate", "100000", "--api-burst", "100000"}
	if o.MaxConns > 0 {
		args = append(args, "--db-max-conns", strconv.Itoa(o.MaxConns))
	}
	args = append(args, "--log-level", "warn",
		"--trusted-proxies", "127.0.0.1/32", "--approver-groups", o.ApproverGroup,
		"--session-key", o.SessionKey)
	cmd := exec.Command(exe, args...)
	// A clean environment: the bench's own settings (DATABASE_URL, sign-in
	// modes) must not leak into the server.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	return cmd, nil
}
