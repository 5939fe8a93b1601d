package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
	"github.com/rolegate/rolegate/store"
)

// child is one rolegate process started by a test.
type child struct {
	name   string
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan error
}

// childEnv is the environment of a rolegate process pointed at the test
// database and the local IAM endpoint, with nothing read from the machine's
// AWS configuration.
func childEnv(t *testing.T, dbURL, iamURL string) []string {
	home := t.TempDir()
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"DATABASE_URL=" + dbURL, "AWS_ENDPOINT_URL_IAM=" + iamURL,
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// startChild runs bin with args and waits until its log matches ready. The
// process is stopped (SIGTERM, then SIGKILL after 20s) in t.Cleanup unless
// the test killed it already.
func startChild(t *testing.T, name, bin string, env []string, ready *regexp.Regexp, args ...string) *child {
	t.Helper()
	c := &child{name: name, cmd: exec.Command(bin, args...), logs: newSyncBuffer(), exited: make(chan error, 1)}
	c.cmd.Env = env
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.exited <- c.cmd.Wait() }()
	t.Cleanup(func() {
		if c.cmd.ProcessState != nil {
			return
		}
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(20 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
			t.Errorf("%s did not stop within 20s of SIGTERM", c.name)
		}
	})
	c.logs.waitFor(t, ready, c.exited)
	return c
}

// kill ends the process with SIGKILL, as a crash or an OOM kill would.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still running 10s after SIGKILL", c.name)
	}
}

// TestWorkerKilledAtRandomMoments runs `rolegate worker` as a process against
// the local IAM endpoint (20ms per call), SIGKILLs it at random moments
// while it provisions, restarts it, and checks that every request ends
// active with exactly one role, inline policy and instance profile.
func TestWorkerKilledAtRandomMoments(t *testing.T) {
	t.Parallel()
	const (
		requests = 60
		kills    = 8
	)
	rng := rand.New(rand.NewPCG(faultSeed, 1))
	t.Logf("seed %d: %d requests, up to %d kills", faultSeed, requests, kills)

	bin := buildBinary(t) // before the deadline starts: the build is not under test
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	iamSrv, iamURL := iamlocaltest.Start(t, iamlocal.Options{Latency: 20 * time.Millisecond})
	db, dbURL := openTestDB(t, store.Options{MaxConns: 2})
	want := createApproved(t, ctx, db, requests, "killed")

	env := childEnv(t, dbURL, iamURL)
	// --job-timeout 2s: a job a killed worker left running is rescued after
	// 4s; --iam-rate -1: the local endpoint needs no client-side limit.
	args := []string{"worker", "--drift-interval", "0", "--job-timeout", "2s", "--iam-rate", "-1",
		"--worker-concurrency", "4", "--db-max-conns", "6"}
	killed := 0
	for range kills {
		counts, err := db.CountByStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts[store.StatusActive] == requests {
			break
		}
		w := startChild(t, fmt.Sprintf("worker %d", killed+1), bin, env, workerUpRE, args...)
		delay := time.Duration(100+rng.IntN(800)) * time.Millisecond
		before := iamSrv.WriteCalls()
		select {
		case <-time.After(delay): // the random moment itself, not a wait for a condition
		case err := <-w.exited:
			t.Fatalf("worker exited on its own: %v\n%s", err, w.logs)
		}
		w.kill(t)
		killed++
		t.Logf("kill %d after %s (%d IAM writes meanwhile, %v)", killed, delay, iamSrv.WriteCalls()-before, counts)
	}
	startChild(t, "final worker", bin, env, workerUpRE, args...)
	awaitAllActive(t, ctx, db, requests)

	var interrupted, attempts int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE attempt > 1), coalesce(sum(attempt), 0)
		FROM river_job WHERE kind = 'provision'`).Scan(&interrupted, &attempts); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d kills; %d provisioning jobs ran more than once; %d attempts for %d requests; %d IAM writes",
		killed, interrupted, attempts, requests, iamSrv.WriteCalls())
	if interrupted == 0 {
		t.Errorf("no kill interrupted a provisioning job: the suite did not test what it claims")
	}
	assertOneOfEach(t, ctx, iamlocaltest.Client(t, iamURL), want)
}

// TestScaleOutProvisionsEachRequestOnce runs two `rolegate worker` and two
// `rolegate serve` processes (each with its worker) on one database while
// 200 requests are approved: every request is provisioned exactly once,
// counted by IAM's create calls.
func TestScaleOutProvisionsEachRequestOnce(t *testing.T) {
	t.Parallel()
	const requests = 200
	bin := buildBinary(t) // before the deadline starts: the build is not under test
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	iamSrv, iamURL := iamlocaltest.Start(t, iamlocal.Options{Latency: 10 * time.Millisecond})
	db, dbURL := openTestDB(t, store.Options{MaxConns: 4})
	env := childEnv(t, dbURL, iamURL)
	common := []string{"--drift-interval", "0", "--iam-rate", "-1", "--worker-concurrency", "8", "--db-max-conns", "5"}

	var procs []*child
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, kind := range []string{"worker", "worker", "serve", "serve"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{kind}, common...)
			ready := workerUpRE
			if kind == "serve" {
				args = append(args, "--listen", "127.0.0.1:0")
				ready = listeningRE
			}
			c := startChild(t, fmt.Sprintf("%s %d", kind, i+1), bin, env, ready, args...)
			mu.Lock()
			procs = append(procs, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// Approve from four goroutines while the processes work.
	var created atomic.Int32
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := g; i < requests; i += 4 {
				r, err := db.CreateRequest(ctx, store.NewRequest{Requester: faultRequester, Justification: "scale-out",
					Spec: provision.RoleSpec{Name: fmt.Sprintf("scaled-%03d", i),
						Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}})
				if err == nil {
					_, err = db.Decide(ctx, faultApprover, r.ID, r.Version, store.Decision{Approve: true})
				}
				if err != nil {
					errs <- err
					return
				}
				created.Add(1)
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	awaitAllActive(t, ctx, db, requests)

	for _, action := range []string{"CreateRole", "PutRolePolicy", "CreateInstanceProfile", "AddRoleToInstanceProfile"} {
		if n := iamSrv.Calls(action); n != requests {
			t.Errorf("%s called %d times for %d requests, want exactly once each", action, n, requests)
		}
	}
	if n := iamSrv.WriteCalls(); n != 4*requests {
		t.Errorf("%d IAM write calls, want %d (four per request)", n, 4*requests)
	}
	// River records a job's completion just after the request turns active.
	awaitCondition(t, ctx, "every provisioning job is finalized", func() bool {
		var open int
		err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'provision'
			AND state NOT IN ('completed', 'discarded', 'cancelled')`).Scan(&open)
		return err == nil && open == 0
	})
	var jobs, repeated int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE attempt <> 1 OR state <> 'completed')
		FROM river_job WHERE kind = 'provision'`).Scan(&jobs, &repeated); err != nil {
		t.Fatal(err)
	}
	if jobs != requests || repeated != 0 {
		rows, err := db.Pool().Query(ctx, `SELECT id, state::text, attempt, coalesce(errors::text, '') FROM river_job WHERE kind = 'provision' AND (attempt <> 1 OR state <> 'completed') LIMIT 5`)
		if err == nil {
			for rows.Next() {
				var id int64
				var st, e string
				var a int
				if rows.Scan(&id, &st, &a, &e) == nil {
					t.Logf("job %d: %s after %d attempts: %s", id, st, a, e)
				}
			}
			rows.Close()
		}
		t.Errorf("%d provisioning jobs, %d of them not completed on their first attempt; want %d, 0", jobs, repeated, requests)
	}
	var shares []string
	busy := 0
	for _, c := range procs {
		n := strings.Count(c.logs.String(), "msg=provisioned")
		shares = append(shares, fmt.Sprintf("%s: %d", c.name, n))
		if n > 0 {
			busy++
		}
	}
	t.Logf("provisioned per process: %s", strings.Join(shares, ", "))
	if busy < 2 {
		t.Errorf("only %d process did the work (%s): the queue was not shared", busy, strings.Join(shares, ", "))
	}
}
