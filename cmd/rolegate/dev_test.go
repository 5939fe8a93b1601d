package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/pglocal"
)

// buildBinary returns rolegate built for the tests that run it as a
// process, in a directory every user may enter (a test runs it as another
// user). The package's tests share one build, made by the first to ask
// and removed when they have all run (TestMain): nine parallel builds of
// the same binary on a cold cache took minutes from the tests' deadlines.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin, err := sharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

var (
	sharedBinary = sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "rolegate-bin-")
		if err != nil {
			return "", err
		}
		sharedBinaryDir.Store(dir)
		if err := os.Chmod(dir, 0o755); err != nil {
			return "", err
		}
		bin := filepath.Join(dir, "rolegate")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build: %v\n%s", err, out)
		}
		return bin, nil
	})
	sharedBinaryDir atomic.Value // string
)

// removeSharedBinary removes the shared build, if one was made.
func removeSharedBinary() {
	if dir, ok := sharedBinaryDir.Load().(string); ok {
		os.RemoveAll(dir)
	}
}

// needPostgresBinaries fails the test when the PostgreSQL server
// binaries that `rolegate dev` runs cannot be found.
func needPostgresBinaries(t *testing.T) {
	t.Helper()
	if _, err := pglocal.FindBinaries(nil, nil); err != nil {
		t.Fatalf("this test needs the PostgreSQL server binaries: %v", err)
	}
}

// openTempDir is a new directory under the system's temporary directory
// that other users (the postgres user, when the tests run as root) may
// pass through, removed when the test ends. t.TempDir's parent is 0700.
func openTempDir(t *testing.T, pattern string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// devProcess is `rolegate dev` running as a process of its own.
type devProcess struct {
	t       *testing.T
	cmd     *exec.Cmd
	out     *syncBuffer   // standard output and error together
	exited  chan error    // its exit, once, for waitFor
	done    chan struct{} // closed when it has exited, with err set
	err     error
	base    string // its URL, from the ready banner
	stopped bool
}

var devReadyRE = regexp.MustCompile(`rolegate dev is ready: (http://\S+)`)

// startDev runs bin dev with args and exactly env (plus PATH), as cred's
// user when cred is set, and waits for its ready banner.
func startDev(t *testing.T, bin string, env []string, cred *syscall.Credential, args ...string) *devProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"dev", "--listen", "127.0.0.1:0", "--drift-interval", "0"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	d := &devProcess{t: t, cmd: cmd, out: newSyncBuffer(), exited: make(chan error, 1), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = d.out, d.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
		d.exited <- d.err
	}()
	t.Cleanup(func() {
		if !d.stopped {
			d.stop()
		}
	})
	d.base = d.out.waitFor(t, devReadyRE, d.exited)
	return d
}

// stop sends SIGINT and checks that dev exits with status 0 within a
// minute, having stopped its private cluster.
func (d *devProcess) stop() {
	t := d.t
	t.Helper()
	d.stopped = true
	d.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-d.done:
		if d.err != nil {
			t.Fatalf("dev exited with %v:\n%s", d.err, d.out)
		}
	case <-time.After(60 * time.Second):
		d.cmd.Process.Kill()
		t.Fatalf("dev did not stop within 60s:\n%s", d.out)
	}
	if !strings.Contains(d.out.String(), "private PostgreSQL stopped") {
		t.Fatalf("the private cluster was not stopped:\n%s", d.out)
	}
}

// TestDevKeepsDataAcrossRestarts is the quick start: `rolegate dev` with no
// DATABASE_URL brings up its private PostgreSQL and the server, answers
// /readyz, stops cleanly on SIGINT, and comes back with the data kept.
func TestDevKeepsDataAcrossRestarts(t *testing.T) {
	t.Parallel()
	needPostgresBinaries(t)
	bin := buildBinary(t)
	dataDir := openTempDir(t, "rolegate-dev-test-")
	start := func() (string, func()) {
		t.Helper()
		d := startDev(t, bin, []string{"HOME=" + dataDir}, nil, "--data-dir", dataDir)
		return d.base, d.stop
	}

	base, stop := start()
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz on first start = %d %s", code, body)
	}
	cluster := filepath.Join(dataDir, "postgres")
	url := "host=" + cluster + " port=5432 user=postgres dbname=rolegate sslmode=disable"
	ctx := context.Background()
	set := provision.DefaultSettings()
	set.Accounts = devAccounts()
	db, err := store.Open(ctx, url, store.Options{MaxConns: 1, Settings: &set})
	if err != nil {
		t.Fatal(err)
	}
	created, err := db.CreateRequest(ctx, store.NewRequest{Requester: "alice", Justification: "kept across restarts",
		Spec: provision.RoleSpec{Name: "survivor", Account: "dev", Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}})
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
	if err != nil || got.Spec.Name != "survivor" || got.Spec.Account != "dev" {
		t.Fatalf("request after restart: %+v, %v", got, err)
	}
	if _, err := os.Stat(devIAMEndpointFile(dataDir)); err != nil {
		t.Fatalf("dev did not record its IAM endpoint for the commands beside it: %v", err)
	}
	// A command run beside dev works in dev's accounts (without them it
	// would refuse a database whose requests name account dev).
	out, _, err := runCmd(t, map[string]string{"ROLEGATE_DATA_DIR": dataDir}, "drift")
	if err != nil || !strings.Contains(out, "no drift") {
		t.Fatalf("drift beside dev: %v\n%s", err, out)
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

// checkBanner checks what dev prints once ready: its URL, every dev user
// with what they may do, and the DATABASE_URL of its private cluster.
func checkBanner(t *testing.T, d *devProcess, dataDir string) {
	t.Helper()
	out := d.out.String()
	for _, want := range []string{
		"rolegate dev is ready: " + d.base + "\n",
		"  alice  requests roles\n",
		"  bob    requests roles; approves others' requests\n",
		"  carol  requests roles; administers",
		"  dave   requests roles; approves others' requests; approves what is routed to group data-owners\n",
		"export DATABASE_URL='host=" + filepath.Join(dataDir, "postgres") + " port=5432 user=postgres dbname=rolegate sslmode=disable'\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the ready banner lacks %q:\n%s", want, out)
		}
	}
}

// `make run` a second time while the first still runs (in another
// terminal, say): the second must refuse at once, naming the running one,
// and leave it alone. It used to adopt the first's private cluster, fail on
// the address in use, and stop that cluster on its way out, so the first
// server lost its database.
func TestSecondDevWithTheSameDataDirLeavesTheFirstAlone(t *testing.T) {
	t.Parallel()
	needPostgresBinaries(t)
	bin := buildBinary(t)
	dataDir := openTempDir(t, "rolegate-dev-twice-")
	env := []string{"HOME=" + dataDir}
	first := startDev(t, bin, env, nil, "--data-dir", dataDir)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	second := exec.CommandContext(ctx, bin, "dev", "--listen", strings.TrimPrefix(first.base, "http://"),
		"--drift-interval", "0", "--data-dir", dataDir)
	second.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	out, err := second.CombinedOutput()
	if err == nil {
		t.Fatalf("a second dev with the same data directory succeeded:\n%s", out)
	}
	want := fmt.Sprintf("another `rolegate dev` (pid %d, serving %s) is already running with data directory %s",
		first.cmd.Process.Pid, first.base, dataDir)
	if !strings.Contains(string(out), want) {
		t.Errorf("the second dev does not say %q:\n%s", want, out)
	}
	if strings.Contains(string(out), "PostgreSQL") {
		t.Errorf("the second dev touched the private cluster:\n%s", out)
	}
	if code, body := get(t, first.base+"/readyz"); code != 200 {
		t.Fatalf("the first dev after the second tried: /readyz = %d %s\n%s", code, body, first.out)
	}
	first.stop()

	// The lock ends with its holder however it ends, and the PostgreSQL it
	// started does not hold it: after a dev killed outright, the next one
	// starts and adopts the cluster left running.
	killed := startDev(t, bin, env, nil, "--data-dir", dataDir)
	killed.stopped = true
	killed.cmd.Process.Kill()
	<-killed.done
	next := startDev(t, bin, env, nil, "--data-dir", dataDir)
	if code, body := get(t, next.base+"/readyz"); code != 200 {
		t.Fatalf("dev after one was killed: /readyz = %d %s\n%s", code, body, next.out)
	}
	next.stop()
}

// The banner offers a second terminal `export DATABASE_URL=...` of dev's
// private cluster; `make run` later in that terminal, once the first dev
// has stopped, must start that cluster rather than fail to reach its
// socket.
func TestDevWithItsOwnClusterURLStartsTheCluster(t *testing.T) {
	t.Parallel()
	needPostgresBinaries(t)
	dataDir := openTempDir(t, "rolegate-dev-own-url-")
	own := pglocal.SocketURL(filepath.Join(dataDir, "postgres"), devDatabase)
	d := startDev(t, buildBinary(t), []string{"HOME=" + dataDir, "DATABASE_URL=" + own}, nil, "--data-dir", dataDir)
	if code, body := get(t, d.base+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	d.stop()
}

// TestDevChecksApprovalRoutesAgainstItsAccounts: dev serves the accounts
// dev and prod when none are configured, so a route to one of them is
// accepted (dev goes on to its --listen address, here taken), and a route
// to an account it does not have is refused naming the two. The routes
// were checked against the one default account before dev added its own,
// which refused account:prod=... .
func TestDevChecksApprovalRoutesAgainstItsAccounts(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	env := map[string]string{"DATABASE_URL": "postgres://127.0.0.1:1/unused", "ROLEGATE_DATA_DIR": t.TempDir()}
	_, _, err = runCmd(t, env, "dev", "--listen", taken.Addr().String(), "--approval-routes", "account:prod=prod-approvers,account:d*=dev-owners")
	if err == nil || strings.Contains(err.Error(), "APPROVAL_ROUTES") || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("dev with routes to its accounts: %v, want the routes accepted (and the taken address refused)", err)
	}
	_, _, err = runCmd(t, env, "dev", "--listen", taken.Addr().String(), "--approval-routes", "account:staging=x")
	if err == nil || !strings.Contains(err.Error(), `no account matches "staging"; the accounts are dev, prod`) {
		t.Errorf("dev with a route to an account it lacks: %v, want it refused naming dev and prod", err)
	}
}
