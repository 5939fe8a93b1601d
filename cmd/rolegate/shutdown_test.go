package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/store"
)

// heldIAM is a local IAM endpoint that holds every CreateRole call until
// release is closed, saying on entered when one arrives.
func heldIAM(t *testing.T) (endpoint string, entered <-chan struct{}, release chan struct{}) {
	t.Helper()
	srv, err := iamlocal.New(iamlocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan struct{}, 16)
	release = make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") == "CreateRole" {
			in <- struct{}{}
			<-release
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	return hs.URL, in, release
}

// SIGTERM stops the worker softly: a job running when it comes finishes
// (within --shutdown-timeout) and the process exits 0. The signal used to
// cancel the context the worker was started with, which River takes as a
// hard stop: the running provisioning was cut off in the middle of its
// IAM calls and left for a retry by another worker.
func TestSIGTERMLetsRunningJobsFinish(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	for _, tc := range []struct {
		kind  string
		ready *regexp.Regexp
	}{
		{"worker", workerUpRE},
		{"serve", listeningRE},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			iamURL, entered, release := heldIAM(t)
			db, dbURL := openTestDB(t, store.Options{MaxConns: 2})
			r := approveRole(t, db, "graceful-"+tc.kind)

			args := []string{tc.kind, "--drift-interval", "0", "--iam-rate", "-1", "--shutdown-timeout", "20s", "--db-max-conns", "4"}
			if tc.kind == "serve" {
				args = append(args, "--listen", "127.0.0.1:0")
			}
			c := startChild(t, tc.kind, bin, childEnv(t, dbURL, iamURL), tc.ready, args...)
			select {
			case <-entered:
			case err := <-c.exited:
				t.Fatalf("%s exited before provisioning: %v\n%s", tc.kind, err, c.logs)
			case <-time.After(30 * time.Second):
				t.Fatalf("no CreateRole within 30s\n%s", c.logs)
			}
			if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			c.logs.waitFor(t, regexp.MustCompile(`(msg="shutting down")`), c.exited)
			close(release)
			select {
			case err := <-c.exited:
				if err != nil {
					t.Fatalf("%s after SIGTERM: %v, want exit status 0\n%s", tc.kind, err, c.logs)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("%s still running 30s after SIGTERM\n%s", tc.kind, c.logs)
			}
			got, err := db.GetRequest(context.Background(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != store.StatusActive {
				t.Fatalf("request %d is %s after SIGTERM during its provisioning, want %s: the running job was cancelled, not let finish\n%s",
					r.ID, got.Status, store.StatusActive, c.logs)
			}
		})
	}
}
