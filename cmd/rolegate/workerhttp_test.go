package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

var workerListeningRE = regexp.MustCompile(`msg="rolegate worker listening" addr=(http://\S+)`)

// startListeningWorker runs `rolegate worker --listen 127.0.0.1:0` as a
// process against the test database and the local IAM endpoint at iamURL,
// with extraEnv added, and returns its base URL.
func startListeningWorker(t *testing.T, dbURL, iamURL string, extraEnv ...string) string {
	t.Helper()
	env := append(childEnv(t, dbURL, iamURL), extraEnv...)
	c := startChild(t, "worker", buildBinary(t), env, workerUpRE,
		"worker", "--listen", "127.0.0.1:0", "--drift-interval", "0", "--iam-rate", "-1", "--db-max-conns", "4")
	return c.logs.waitFor(t, workerListeningRE, c.exited)
}

// `rolegate worker --listen` answers the probes, and its /metrics shows
// what the worker did: the provisioning job that succeeded and the IAM
// calls it made, by operation. The worker served nothing before.
func TestWorkerServesProbesAndMetrics(t *testing.T) {
	t.Parallel()
	_, iamURL := iamlocaltest.Start(t, iamlocal.Options{})
	db, dbURL := openTestDB(t, store.Options{MaxConns: 2})
	base := startListeningWorker(t, dbURL, iamURL)

	if code, body := get(t, base+"/healthz"); code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz = %d %s", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	approveRole(t, db, "probed")
	want := []string{
		`rolegate_jobs_total{kind="provision",outcome="succeeded"} 1`,
		`rolegate_iam_calls_total{operation="CreateRole",outcome="ok"} 1`,
		`rolegate_jobs_waiting{kind="provision"} 0`,
		"rolegate_db_pool_total_connections",
		"go_goroutines",
	}
	var metrics string
	waitUntil(t, "/metrics shows the provisioning", func() bool {
		var code int
		code, metrics = get(t, base+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics = %d %s", code, metrics)
		}
		for _, w := range want {
			if !strings.Contains(metrics, w) {
				return false
			}
		}
		return true
	})
}

// With a metrics token, the worker's /metrics asks for it as serve's
// does; the probes never do.
func TestWorkerMetricsToken(t *testing.T) {
	t.Parallel()
	const token = "worker-metrics-token-0123"
	_, iamURL := iamlocaltest.Start(t, iamlocal.Options{})
	_, dbURL := openTestDB(t, store.Options{MaxConns: 2})
	base := startListeningWorker(t, dbURL, iamURL, "METRICS_TOKEN="+token)

	if code, _ := get(t, base+"/metrics"); code != http.StatusUnauthorized {
		t.Fatalf("/metrics without the token = %d, want 401", code)
	}
	if code, body := getWithToken(t, base+"/metrics", token); code != http.StatusOK || !strings.Contains(body, "rolegate_jobs_total") {
		t.Fatalf("/metrics with the token = %d:\n%s", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d, want 200 without a token", code)
	}
}

// A worker's --listen is checked at start-up like serve's.
func TestWorkerListenIsChecked(t *testing.T) {
	t.Parallel()
	_, _, err := runCmd(t, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "WORKER_LISTEN": "9090"}, "worker")
	if err == nil || !strings.Contains(err.Error(), `--listen / WORKER_LISTEN: "9090" is not host:port`) {
		t.Fatalf("worker with WORKER_LISTEN=9090: %v, want the address refused", err)
	}
}

// serve's /metrics shows the worker's metrics beside the HTTP ones.
func TestServeMetricsIncludeTheWorkers(t *testing.T) {
	t.Parallel()
	base, _, _, _ := startServe(t, storetest.EmptyURL(t))
	_, metrics := get(t, base+"/metrics")
	for _, w := range []string{
		`rolegate_jobs_total{kind="provision",outcome="succeeded"} 0`,
		`rolegate_jobs_waiting{kind="provision"} 0`,
	} {
		if !strings.Contains(metrics, w) {
			t.Errorf("serve's /metrics lacks %s", w)
		}
	}
}
