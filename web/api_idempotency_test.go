package web

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/problem"
)

func TestAPIIdempotencyKeyReplaysAndRefuses(t *testing.T) {
	env := setupAPI(t)
	post := func(key string, body any) resp {
		return env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: body, header: map[string]string{"Idempotency-Key": key}})
	}
	first := post("k-1", spec("once"))
	wantStatus(t, first, http.StatusCreated)
	again := post("k-1", spec("once"))
	wantStatus(t, again, http.StatusCreated)
	if string(again.body) != string(first.body) || again.Header.Get("Location") != first.Header.Get("Location") ||
		again.Header.Get(api.ReplayedHeader) != "true" || first.Header.Get(api.ReplayedHeader) != "" {
		t.Fatalf("replay differs:\n%s\n%s", first.body, again.body)
	}
	r := post("k-1", spec("another"))
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if p := r.problem(t); p.Type != problem.Base+"idempotency-key-mismatch" {
		t.Errorf("type %s", p.Type)
	}
	// A refused request is replayed too: the same answer, not a new attempt.
	bad := spec("Bad Name!")
	wantStatus(t, post("k-2", bad), 422)
	wantStatus(t, post("k-2", bad), 422)
	wantStatus(t, post("with space", spec("x")), 400)
	// Another user's key of the same name is theirs.
	other := env.do(req{method: "POST", path: "/api/v1/requests", as: asErin, body: spec("erins"), header: map[string]string{"Idempotency-Key": "k-1"}})
	wantStatus(t, other, http.StatusCreated)

	page, err := env.db.ListRequests(ctxT(t), store.ListFilter{Requester: "alice"})
	if err != nil || len(page.Requests) != 1 {
		t.Fatalf("alice has %d requests (err %v), want 1", len(page.Requests), err)
	}
}

// Concurrent retries with one key create exactly one request; the others
// get the replay or 409 while the first still runs.
func TestAPIIdempotencyConcurrentRetriesCreateOne(t *testing.T) {
	env := setupAPIWith(t, api.Limits{Burst: 100, Rate: 100}, store.Options{})
	const n = 10
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		bodies   = map[string]bool{}
	)
	storetest.AtOnce(n, func(int) {
		r := env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: spec("raced"),
			header: map[string]string{"Idempotency-Key": "same-key"}})
		mu.Lock()
		defer mu.Unlock()
		statuses[r.StatusCode]++
		if r.StatusCode == http.StatusCreated {
			bodies[string(r.body)] = true
		}
		if r.StatusCode == http.StatusConflict && r.Header.Get("Retry-After") == "" {
			t.Error("409 in progress without Retry-After")
		}
	})
	if statuses[http.StatusCreated] == 0 || statuses[http.StatusCreated]+statuses[http.StatusConflict] != n || len(bodies) != 1 {
		t.Fatalf("statuses %v, %d distinct bodies", statuses, len(bodies))
	}
	page, err := env.db.ListRequests(ctxT(t), store.ListFilter{Requester: "alice"})
	if err != nil || len(page.Requests) != 1 {
		t.Fatalf("%d requests created (err %v), want exactly 1", len(page.Requests), err)
	}
	// Once the first has finished, a retry replays it.
	r := env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: spec("raced"), header: map[string]string{"Idempotency-Key": "same-key"}})
	wantStatus(t, r, http.StatusCreated)
	if !bodies[string(r.body)] {
		t.Fatal("the replay after the race differs")
	}
}

// A server wrote the request under a key and died before answering (done
// here by making its store calls and stopping): retries first hear that
// the key is in use, then, once the claim is stale, 201 with that request,
// which later retries replay. Nothing is created twice.
func TestAPIIdempotencyKeyAnswersForADeadServer(t *testing.T) {
	env := setupAPI(t)
	ctx := ctxT(t)
	body := `{"name": "orphaned", "justification": "the first server died", "buckets": [{"bucket": "example-bucket", "access": "read"}]}`
	k := store.IdempotencyKey{User: "alice", Key: "dead-server", Method: http.MethodPost, Path: "/api/v1/requests",
		BodySHA256: sha256.Sum256([]byte(body))}
	if _, claimed, err := env.db.ClaimIdempotencyKey(ctx, k); err != nil || !claimed {
		t.Fatal(claimed, err)
	}
	written, err := env.db.CreateRequest(ctx, store.NewRequest{Requester: "alice", Justification: "the first server died",
		Spec:        provision.RoleSpec{Name: "orphaned", Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}},
		Idempotency: &k})
	if err != nil {
		t.Fatal(err)
	}
	retry := func() resp {
		return env.do(req{method: "POST", path: "/api/v1/requests", as: asAlice, body: body, header: map[string]string{"Idempotency-Key": "dead-server"}})
	}
	busy := retry()
	wantStatus(t, busy, http.StatusConflict)
	if p := busy.problem(t); p.Type != problem.Base+"idempotency-key-in-use" || busy.Header.Get("Retry-After") == "" {
		t.Fatalf("retry while the claim is fresh: %+v, Retry-After %q", p, busy.Header.Get("Retry-After"))
	}

	env.offset.Add(int64(3 * time.Minute))
	answered := retry()
	wantStatus(t, answered, http.StatusCreated)
	v := answered.detail(t)
	if v.ID != written.ID || answered.Header.Get("Location") != pathf("/api/v1/requests/%d", written.ID) || v.Spec.Name != "orphaned" {
		t.Fatalf("answer for the dead server's request #%d: Location %q, %s", written.ID, answered.Header.Get("Location"), answered.body)
	}
	again := retry()
	wantStatus(t, again, http.StatusCreated)
	if again.Header.Get(api.ReplayedHeader) != "true" || !bytes.Equal(again.body, answered.body) {
		t.Fatalf("the next retry is not a replay: %s", again.body)
	}
	page, err := env.db.ListRequests(ctx, store.ListFilter{Requester: "alice"})
	if err != nil || len(page.Requests) != 1 {
		t.Fatalf("alice has %d requests (err %v), want exactly the one written", len(page.Requests), err)
	}
}
