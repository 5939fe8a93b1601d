package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// benchAPI measures request creation through the API of a real server
// (this binary, `serve --no-worker`, a separate process on loopback) at each
// concurrency, against the same rows written directly with pgx at the same
// concurrency and the way the store writes them (one statement into
// requests, request_versions, request_scopes and audit_events): what the
// database itself does per second on this machine.
func benchAPI(ctx context.Context, e *benchEnv) ([]benchRow, error) {
	db, dbURL, err := e.newStore(ctx, "api", store.Options{MaxConns: 4})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	_, secret, err := db.CreateToken(ctx, store.NewToken{User: "bench-requester", Description: "rolegate bench", CreatedBy: "cli"})
	if err != nil {
		return nil, err
	}
	// The server runs with the pool it has in production unless asked
	// otherwise: more connections than cores only add contention.
	conns := e.settings.serverConns
	if conns <= 0 {
		conns = slices.Max(e.settings.apiConcurrency)
	}
	srv, err := startBenchServer(ctx, e, dbURL, conns)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	client := srv.client(slices.Max(e.settings.apiConcurrency))

	var rows []benchRow
	n := e.settings.apiRequests
	for _, conc := range e.settings.apiConcurrency {
		// The direct side gets the database concurrency the server has:
		// as many connections as callers, up to the server's pool.
		pool, err := benchPool(ctx, dbURL, min(conc, conns))
		if err != nil {
			return rows, err
		}
		direct := func(ctx context.Context, i int) error {
			return directCreate(ctx, pool, fmt.Sprintf("bench-direct-c%d-%06d", conc, i))
		}
		api := func(ctx context.Context, i int) error {
			return apiCreate(ctx, client, srv.base, secret, fmt.Sprintf("bench-api-c%d-%06d", conc, i))
		}
		// Warm each up at this concurrency (connections open, plans
		// cached), uncounted, under names of their own, right before its
		// own timed run: the direct pool's 64 backends closing slowed the
		// first 64 API calls after them to 0.3–0.6 s, which a pause of
		// 2.5 s instead of them did not.
		warm := max(2*conc, 20)
		if _, err := drive(ctx, warm, conc, func(ctx context.Context, i int) error {
			return directCreate(ctx, pool, fmt.Sprintf("bench-warm-direct-c%d-%06d", conc, i))
		}); err != nil {
			pool.Close()
			return rows, fmt.Errorf("direct warm-up: %w", err)
		}
		d, err := drive(ctx, n, conc, direct)
		pool.Close()
		if err != nil {
			return rows, fmt.Errorf("direct pgx at concurrency %d: %w", conc, err)
		}
		if _, err := drive(ctx, warm, conc, func(ctx context.Context, i int) error {
			return apiCreate(ctx, client, srv.base, secret, fmt.Sprintf("bench-warm-api-c%d-%06d", conc, i))
		}); err != nil {
			return rows, fmt.Errorf("API warm-up: %w", err)
		}
		cpu0, _ := pidCPU(srv.cmd.Process.Pid)
		a, err := drive(ctx, n, conc, api)
		if err != nil {
			return rows, fmt.Errorf("API at concurrency %d: %w", conc, err)
		}
		cpu1, _ := pidCPU(srv.cmd.Process.Pid)
		e.logf("api: concurrency %d: API %s; direct %s", conc, a, d)
		ratio := a.rate() / d.rate()
		row := benchRow{
			section:  "api",
			name:     fmt.Sprintf("create %d requests, concurrency %d", n, conc),
			measured: fmt.Sprintf("%.0f req/s (p50 %s, p99 %s)", a.rate(), fmtMS(a.p50), fmtMS(a.p99)),
			baseline: fmt.Sprintf("%.0f tx/s direct pgx (p50 %s, p99 %s)", d.rate(), fmtMS(d.p50), fmtMS(d.p99)),
			ratio:    ratio,
			target:   "≥ 0.6× direct",
			ok:       ratio >= 0.6,
			note: fmt.Sprintf("server process CPU %.2f ms per request",
				float64(cpu1-cpu0)/float64(time.Millisecond)/float64(n)),
		}
		e.logf("api: concurrency %d: %s", conc, row.note)
		rows = append(rows, row)
		if conc == 64 {
			tail := a.p99.Seconds() / a.p50.Seconds()
			rows = append(rows, benchRow{
				section:  "api",
				name:     "API p99 ÷ p50 at concurrency 64",
				measured: fmt.Sprintf("%s ÷ %s", fmtMS(a.p99), fmtMS(a.p50)),
				baseline: fmt.Sprintf("direct: %.2f×", d.p99.Seconds()/d.p50.Seconds()),
				ratio:    tail,
				target:   "≤ 3×",
				ok:       tail <= 3,
			})
		}
	}
	rows = append(rows, srv.memoryRow("api"))
	return rows, nil
}

// loadResult is one timed run: how many operations, the wall time, and
// the latency percentiles.
type loadResult struct {
	n             int
	wall          time.Duration
	p50, p99, max time.Duration
}

func (r loadResult) rate() float64 { return float64(r.n) / r.wall.Seconds() }

func (r loadResult) String() string {
	return fmt.Sprintf("%d in %s = %.1f/s, p50 %s, p99 %s, max %s", r.n, r.wall.Round(time.Millisecond), r.rate(),
		fmtMS(r.p50), fmtMS(r.p99), fmtMS(r.max))
}

// drive runs op for i in [0, n) from conc goroutines and times each call.
func drive(ctx context.Context, n, conc int, op func(ctx context.Context, i int) error) (loadResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan int)
	lat := make([][]time.Duration, conc)
	errs := make([]error, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t := time.Now()
				if err := op(ctx, i); err != nil {
					errs[g] = err
					cancel()
					for range work {
					}
					return
				}
				lat[g] = append(lat[g], time.Since(t))
			}
		}()
	}
feed:
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	wall := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return loadResult{}, err
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	return loadResult{n: len(all), wall: wall, p50: percentile(all, 50), p99: percentile(all, 99), max: percentile(all, 100)}, nil
}

// percentile returns the nearest-rank p-th percentile of sorted: the
// smallest value with at least p% of the values at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100 + 0.9999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func fmtMS(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

func benchPool(ctx context.Context, dbURL string, conns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(conns)
	return pgxpool.NewWithConfig(ctx, cfg)
}

// directCreate writes the rows CreateRequest writes for a one-scope
// read-only request the way it writes them: one statement, committing on
// its own.
func directCreate(ctx context.Context, pool *pgxpool.Pool, name string) error {
	now := time.Now().UTC()
	_, err := pool.Exec(ctx, `
		WITH r AS (
			INSERT INTO requests (role_name, requester, status, version, created_at, updated_at)
			VALUES ($1, 'bench-requester', 'pending', 1, $2, $2)
			RETURNING id),
		v AS (
			INSERT INTO request_versions (request_id, version, description, justification, managed_policies, created_by, created_at)
			SELECT r.id, 1, '', 'rolegate bench', '{}', 'bench-requester', $2 FROM r),
		s AS (
			INSERT INTO request_scopes (request_id, version, position, bucket, prefix, access)
			SELECT r.id, 1, 0, 'bench-bucket', 'team-1/', 'read' FROM r)
		INSERT INTO audit_events (request_id, version, actor, kind, data, created_at)
		SELECT r.id, 1, 'bench-requester', 'request.submitted', $3, $2 FROM r`,
		name, now, map[string]any{"role_name": name, "buckets": 1})
	return err
}

// apiCreate creates one request through POST /api/v1/requests and reads
// the whole answer.
func apiCreate(ctx context.Context, client *http.Client, base, token, name string) error {
	body, err := json.Marshal(map[string]any{
		"name":          name,
		"buckets":       []provision.BucketScope{{Bucket: "bench-bucket", Prefix: "team-1/", Access: provision.AccessRead}},
		"justification": "rolegate bench",
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/requests", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST /api/v1/requests = %d: %.300s", resp.StatusCode, got)
	}
	return nil
}

// benchServer is `rolegate serve` run from this binary as a child process,
// so its memory is its own.
type benchServer struct {
	cmd  *exec.Cmd
	base string
	done chan error
	once sync.Once
	peak int64 // VmHWM in kB, read just before stopping; 0 when unread
}

// benchApproverGroup is the group the bench's proxy identity carries; the
// server makes its members approvers.
const benchApproverGroup = "bench-approvers"

// startBenchServer starts `serve --no-worker` on a free loopback port
// against dbURL, with an API rate limit no load of the bench reaches and
// proxy sign-in trusted from loopback, and waits until /readyz answers.
func startBenchServer(ctx context.Context, e *benchEnv, dbURL string, conns int) (*benchServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	key := []byte(randomHex(16)) // 32 random bytes, as hex digits
	cmd := exec.Command(exe, "serve",
		"--database-url", dbURL, "--listen", addr, "--no-worker",
		"--api-rate", "100000", "--api-burst", "100000",
		"--db-max-conns", strconv.Itoa(conns), "--log-level", "warn",
		"--trusted-proxies", "127.0.0.1/32", "--approver-groups", benchApproverGroup,
		"--session-key", base64.StdEncoding.EncodeToString(key))
	// A clean environment: the bench's own settings (DATABASE_URL, sign-in
	// modes) must not leak into the server.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", exe, err)
	}
	s := &benchServer{cmd: cmd, base: "http://" + addr, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintf(e.progress, "bench: server: %s\n", sc.Text())
		}
		s.done <- cmd.Wait()
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("the server exited before it was ready: %v", err)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("the server was not ready within 30s")
		}
	}
	e.logf("server pid %d on %s", cmd.Process.Pid, s.base)
	return s, nil
}

// client is an HTTP client keeping up to conns connections to the server.
func (s *benchServer) client(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = conns
	t.MaxIdleConnsPerHost = conns
	return &http.Client{Transport: t, Timeout: time.Minute}
}

// stop reads the server's peak RSS, then stops it with SIGTERM (SIGKILL
// after 20s).
func (s *benchServer) stop() { s.once.Do(s.stopOnce) }

func (s *benchServer) stopOnce() {
	if kb, err := pidStatusKB(s.cmd.Process.Pid, "VmHWM"); err == nil {
		s.peak = kb
	}
	s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may be gone
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill() //nolint:errcheck // it may be gone
		<-s.done
	}
}

// memoryRow stops the server and reports its peak resident set.
func (s *benchServer) memoryRow(section string) benchRow {
	s.stop()
	row := benchRow{section: "memory", name: "peak RSS of the server process, " + section + " section (VmHWM)", target: "≤ 100 MiB"}
	if s.peak <= 0 {
		row.measured, row.note = "n/a", "could not read the server's /proc/<pid>/status"
		return row
	}
	mib := float64(s.peak) / 1024
	row.measured = fmt.Sprintf("%.1f MiB", mib)
	row.ok = mib <= 100
	return row
}

// pidCPU is the user and system CPU time a process has used so far, from
// /proc/<pid>/stat (in clock ticks of 10 ms, Linux's USER_HZ).
func pidCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses: state is
	// the first, utime the 12th and stime the 13th.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(u+s) * 10 * time.Millisecond, nil
}

// pidStatusKB reads one "Name: N kB" line of /proc/<pid>/status.
func pidStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
