package bench

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serverProcess is the server a section measures, run as a child process
// so its memory is its own.
type serverProcess struct {
	cmd  *exec.Cmd
	base string
	done chan error
	once sync.Once
	peak int64 // VmHWM in kB, read just before stopping; 0 when unread
}

// approverGroup is the group the bench's proxy identity carries; the
// server makes its members approvers.
const approverGroup = "bench-approvers"

// startServer starts the server the command's Settings.Server gives, on a
// free loopback port against dbURL with a pool of conns (0: the server's
// default), and waits until /readyz answers. It fails when the server
// cannot start, exits first or is not ready within 30s.
func startServer(ctx context.Context, e *env, dbURL string, conns int) (*serverProcess, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	key := []byte(randomHex(16)) // 32 random bytes, as hex digits
	cmd, err := e.settings.Server(ServerOptions{DatabaseURL: dbURL, Listen: addr, MaxConns: conns,
		ApproverGroup: approverGroup, SessionKey: base64.StdEncoding.EncodeToString(key)})
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", cmd.Path, err)
	}
	s := &serverProcess{cmd: cmd, base: "http://" + addr, done: make(chan error, 1)}
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
func (s *serverProcess) client(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = conns
	t.MaxIdleConnsPerHost = conns
	return &http.Client{Transport: t, Timeout: time.Minute}
}

// stop reads the server's peak RSS, then stops it with SIGTERM (SIGKILL
// after 20s).
func (s *serverProcess) stop() { s.once.Do(s.stopOnce) }

func (s *serverProcess) stopOnce() {
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
func (s *serverProcess) memoryRow(section string) tableRow {
	s.stop()
	row := tableRow{section: "memory", name: "peak RSS of the server process, " + section + " section (VmHWM)", target: "≤ 100 MiB"}
	if s.peak <= 0 {
		row.measured, row.note = "n/a", "could not read the server's /proc/<pid>/status"
		return row
	}
	mib := float64(s.peak) / 1024
	row.measured = fmt.Sprintf("%.1f MiB", mib)
	row.ok = mib <= 100
	return row
}

// exchange sends req and reads the whole answer. It returns the error of
// the round trip, or one naming what (e.g. "GET /x") and showing the start
// of the answer when its status is not want.
func exchange(client *http.Client, req *http.Request, want int, what string) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s = %d: %.300s", what, resp.StatusCode, body)
	}
	return nil
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
