package store_test

import (
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

func idemKey(user, key, body string) store.IdempotencyKey {
	return store.IdempotencyKey{User: user, Key: key, Method: "POST", Path: "/api/v1/requests", BodySHA256: sha256.Sum256([]byte(body))}
}

func TestIdempotencyKeyClaimCompleteReplay(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	at := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	db := storetest.Open(t, storetest.URL(t), store.Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})

	k := idemKey("alice", "k1", `{"a":1}`)
	if _, claimed, err := db.ClaimIdempotencyKey(ctx, k); err != nil || !claimed {
		t.Fatalf("first claim: claimed=%v err=%v", claimed, err)
	}
	if _, _, err := db.ClaimIdempotencyKey(ctx, k); !errors.Is(err, store.ErrIdempotencyInFlight) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("claim while in flight: %v", err)
	}
	want := store.StoredResponse{Status: 201, Headers: map[string]string{"Location": "/api/v1/requests/1"}, Body: []byte(`{"id":1}`)}
	if err := db.CompleteIdempotencyKey(ctx, k, want); err != nil {
		t.Fatal(err)
	}
	got, claimed, err := db.ClaimIdempotencyKey(ctx, k)
	if err != nil || claimed || got.Status != 201 || string(got.Body) != `{"id":1}` || got.Headers["Location"] != "/api/v1/requests/1" {
		t.Fatalf("replay = %+v claimed=%v err=%v", got, claimed, err)
	}
	// Same key, another body or path: refused. Another user: independent.
	if _, _, err := db.ClaimIdempotencyKey(ctx, idemKey("alice", "k1", `{"a":2}`)); !errors.Is(err, store.ErrIdempotencyMismatch) || !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("other body: %v", err)
	}
	other := k
	other.Path = "/api/v1/requests/1/changes"
	if _, _, err := db.ClaimIdempotencyKey(ctx, other); !errors.Is(err, store.ErrIdempotencyMismatch) {
		t.Fatalf("other path: %v", err)
	}
	if _, claimed, err := db.ClaimIdempotencyKey(ctx, idemKey("bob", "k1", `{"a":1}`)); err != nil || !claimed {
		t.Fatalf("bob's k1: claimed=%v err=%v", claimed, err)
	}

	// Kept 24 hours, then forgotten.
	at(23 * time.Hour)
	if _, claimed, err := db.ClaimIdempotencyKey(ctx, k); err != nil || claimed {
		t.Fatalf("after 23h: claimed=%v err=%v, want a replay", claimed, err)
	}
	if n, err := db.DeleteExpiredIdempotencyKeys(ctx, time.Hour); !errors.Is(err, store.ErrInvalid) || n != 0 {
		t.Fatalf("clean-up under 24h: n=%d err=%v", n, err)
	}
	at(2 * time.Hour)
	if n, err := db.DeleteExpiredIdempotencyKeys(ctx, store.IdempotencyTTL); err != nil || n != 2 {
		t.Fatalf("clean-up: n=%d err=%v, want 2", n, err)
	}
	if _, claimed, err := db.ClaimIdempotencyKey(ctx, k); err != nil || !claimed {
		t.Fatalf("after 25h: claimed=%v err=%v, want a fresh claim", claimed, err)
	}
}

func TestIdempotencyKeyReleaseAndStaleTakeover(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	db := storetest.Open(t, storetest.URL(t), store.Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	k := idemKey("alice", "k", "body")
	if _, claimed, err := db.ClaimIdempotencyKey(ctx, k); err != nil || !claimed {
		t.Fatal(claimed, err)
	}
	if err := db.ReleaseIdempotencyKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, claimed, err := db.ClaimIdempotencyKey(ctx, k); err != nil || !claimed {
		t.Fatalf("after release: claimed=%v err=%v", claimed, err)
	}
	// A claim left by a crashed server is taken over once stale.
	mu.Lock()
	now = now.Add(3 * time.Minute)
	mu.Unlock()
	if _, claimed, err := db.ClaimIdempotencyKey(ctx, k); err != nil || !claimed {
		t.Fatalf("stale claim: claimed=%v err=%v", claimed, err)
	}
	if err := db.CompleteIdempotencyKey(ctx, k, store.StoredResponse{Status: 500}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("storing a 500: %v", err)
	}
	if err := db.CompleteIdempotencyKey(ctx, idemKey("alice", "nope", "x"), store.StoredResponse{Status: 201}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("completing an unclaimed key: %v", err)
	}
}

// Many concurrent claims of one key: exactly one runs the request.
func TestIdempotencyKeyConcurrentClaimsOneWins(t *testing.T) {
	db, ctx := setupDB(t)
	k := idemKey("alice", "race", "body")
	const n = 12
	var (
		mu               sync.Mutex
		claims, inFlight int
	)
	storetest.AtOnce(n, func(int) {
		_, claimed, err := db.ClaimIdempotencyKey(ctx, k)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil && claimed:
			claims++
		case errors.Is(err, store.ErrIdempotencyInFlight):
			inFlight++
		default:
			t.Errorf("claim: claimed=%v err=%v", claimed, err)
		}
	})
	if claims != 1 || inFlight != n-1 {
		t.Fatalf("claims=%d in-flight=%d, want 1 and %d", claims, inFlight, n-1)
	}
}

// A server that wrote its request under a key and died before storing the
// answer: the retry that takes the stale claim over learns which request
// was written, for a new request and for a change alike. Without a key,
// nothing is recorded anywhere.
func TestIdempotencyKeyRecordsTheRequestWrittenUnderIt(t *testing.T) {
	f, ctx := setup(t, store.Options{})

	k := idemKey("alice", "create-1", `{"name":"reports-reader"}`)
	if _, claimed, err := f.db.ClaimIdempotencyKey(ctx, k); err != nil || !claimed {
		t.Fatal(claimed, err)
	}
	in := newRequest("reports-reader", "alice")
	in.Idempotency = &k
	created, err := f.db.CreateRequest(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	// The server dies here. A retry at once finds the claim in flight ...
	if _, _, err := f.db.ClaimIdempotencyKey(ctx, k); !errors.Is(err, store.ErrIdempotencyInFlight) {
		t.Fatalf("retry while the claim is fresh: %v", err)
	}
	// ... and once it is stale, takes it over with the request to answer.
	f.clock.Advance(3 * time.Minute)
	got, claimed, err := f.db.ClaimIdempotencyKey(ctx, k)
	if err != nil || !claimed || got.RequestID != created.ID {
		t.Fatalf("stale takeover = %+v claimed=%v err=%v, want request %d", got, claimed, err, created.ID)
	}

	// A server error after the write releases the key, but the link
	// stays: the next retry answers with the request at once.
	if err := f.db.ReleaseIdempotencyKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if got, claimed, err := f.db.ClaimIdempotencyKey(ctx, k); err != nil || !claimed || got.RequestID != created.ID {
		t.Fatalf("claim after releasing a linked key = %+v claimed=%v err=%v, want request %d", got, claimed, err, created.ID)
	}

	// A change made under a key is recorded the same way.
	active := activate(t, f, created.Request)
	ck := idemKey("alice", "change-1", `{"change":1}`)
	ck.Path = "/api/v1/requests/1/changes"
	if _, claimed, err := f.db.ClaimIdempotencyKey(ctx, ck); err != nil || !claimed {
		t.Fatal(claimed, err)
	}
	if _, err := f.db.RequestChange(ctx, alice, active.ID, store.NewVersion{
		Spec: withScopes(active.Spec, read("reports-archive")), Justification: "archive too", Idempotency: &ck}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3 * time.Minute)
	if got, claimed, err := f.db.ClaimIdempotencyKey(ctx, ck); err != nil || !claimed || got.RequestID != active.ID {
		t.Fatalf("stale change claim = %+v claimed=%v err=%v, want request %d", got, claimed, err, active.ID)
	}

	// A key whose request was never written is taken over with nothing to
	// answer: the retry runs afresh.
	nk := idemKey("alice", "never-written", "x")
	if _, claimed, err := f.db.ClaimIdempotencyKey(ctx, nk); err != nil || !claimed {
		t.Fatal(claimed, err)
	}
	other := newRequest("unrelated", "alice")
	if _, err := f.db.CreateRequest(ctx, other); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3 * time.Minute)
	if got, claimed, err := f.db.ClaimIdempotencyKey(ctx, nk); err != nil || !claimed || got.RequestID != 0 {
		t.Fatalf("stale claim without a write = %+v claimed=%v err=%v", got, claimed, err)
	}
}
