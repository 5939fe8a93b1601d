package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newRequest(name, requester string, scopes ...provision.BucketScope) store.NewRequest {
	if len(scopes) == 0 {
		scopes = []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}
	}
	return store.NewRequest{
		Spec: provision.RoleSpec{
			Name:        name,
			Description: "reads the example bucket",
			Buckets:     scopes,
		},
		Justification: "the nightly report job reads it",
		Requester:     requester,
	}
}

func mustCreate(t *testing.T, db *store.DB, in store.NewRequest) store.Request {
	t.Helper()
	r, err := db.CreateRequest(ctxT(t), in)
	if err != nil {
		t.Fatalf("CreateRequest(%s): %v", in.Spec.Name, err)
	}
	return r.Request
}

func TestCreateAndGetRequest(t *testing.T) {
	t.Parallel()
	set := provision.DefaultSettings()
	set.AllowedManagedPolicies = []string{"AmazonSSMManagedInstanceCore"}
	db := storetest.Open(t, storetest.URL(t), store.Options{Settings: &set})
	ctx := ctxT(t)
	// Nanoseconds the database does not keep: the returned request must
	// still equal the stored one.
	exp := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)
	in := newRequest("reports-reader", "alice",
		provision.BucketScope{Bucket: "team-reports", Prefix: "daily/", Access: provision.AccessRead},
		provision.BucketScope{Bucket: "team-exports", Access: provision.AccessReadWrite})
	in.Spec.MaxSessionDuration = 7200
	in.Spec.ManagedPolicies = []string{"AmazonSSMManagedInstanceCore"}
	in.Spec.ExpiresAt = &exp

	created, err := db.CreateRequest(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == 0 || created.Status != store.StatusPending || created.Version != 1 || created.Requester != "alice" {
		t.Fatalf("created = %+v", created)
	}
	got, err := db.GetRequest(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Name != "reports-reader" || got.Justification != in.Justification ||
		got.Spec.MaxSessionDuration != 7200 || len(got.Spec.ManagedPolicies) != 1 ||
		got.Spec.ExpiresAt == nil || !got.Spec.ExpiresAt.Equal(exp.Truncate(time.Microsecond)) {
		t.Fatalf("got = %+v", got)
	}
	if fmt.Sprint(got.Spec.Buckets) != fmt.Sprint(in.Spec.Buckets) {
		t.Fatalf("scopes = %v, want %v (in order)", got.Spec.Buckets, in.Spec.Buckets)
	}
	events, err := db.ListEvents(ctx, store.EventFilter{RequestID: created.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Kind != store.EventSubmitted || events[0].Actor != "alice" || events[0].Version != 1 {
		t.Fatalf("events = %+v", events)
	}
	// CreateRequest returns what it wrote, so the API answers without
	// reading it back: it must be exactly what reading it back gives.
	if !reflect.DeepEqual(created.Request, got) {
		t.Fatalf("CreateRequest returned\n%+v\nGetRequest reads\n%+v", created.Request, got)
	}
	versions, err := db.ListVersions(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 1 || !reflect.DeepEqual(created.First, versions[0]) {
		t.Fatalf("CreateRequest returned version\n%+v\nListVersions reads\n%+v", created.First, versions)
	}
	if a, b := mustJSON(t, created.Submitted), mustJSON(t, events[0]); a != b {
		t.Fatalf("CreateRequest returned event\n%s\nListEvents reads\n%s", a, b)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGetRequestNotFound(t *testing.T) {
	db, ctx := setupDB(t)
	if _, err := db.GetRequest(ctx, 424242); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestCreateRequestIsAtomic(t *testing.T) {
	db, ctx := setupDB(t)
	// Make the last write of the transaction (the audit event) fail for
	// one requester: nothing of the request may remain.
	if _, err := db.Pool().Exec(ctx, `
		CREATE FUNCTION fail_for_mallory() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.actor = 'mallory' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END; $$;
		CREATE TRIGGER fail_for_mallory BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_for_mallory();`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateRequest(ctx, newRequest("half-written", "mallory")); err == nil {
		t.Fatal("CreateRequest succeeded despite the failing audit insert")
	}
	page, err := db.ListRequests(ctx, store.ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var versions, scopes int
	if err := db.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM request_versions), (SELECT count(*) FROM request_scopes)`).
		Scan(&versions, &scopes); err != nil {
		t.Fatal(err)
	}
	if len(page.Requests) != 0 || versions != 0 || scopes != 0 {
		t.Fatalf("left behind %d requests, %d versions, %d scopes", len(page.Requests), versions, scopes)
	}
	// The name is free again.
	mustCreate(t, db, newRequest("half-written", "alice"))
}

func TestCreateRequestValidatesEverything(t *testing.T) {
	db, ctx := setupDB(t)
	in := newRequest("bad name!", "alice", provision.BucketScope{Bucket: "Bad_Bucket", Access: "admin"})
	in.Justification = "  "
	_, err := db.CreateRequest(ctx, in)
	var verr *provision.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want *provision.ValidationError", err)
	}
	fields := map[string]bool{}
	for _, p := range verr.Problems {
		fields[p.Field] = true
	}
	for _, f := range []string{"name", "buckets[0].bucket", "buckets[0].access", "justification"} {
		if !fields[f] {
			t.Errorf("no problem reported for %s: %v", f, verr.Problems)
		}
	}
	in = newRequest("no-scopes", "alice")
	in.Spec.Buckets = nil
	if _, err := db.CreateRequest(ctx, in); !errors.As(err, &verr) {
		t.Fatalf("no scopes: err = %v, want *provision.ValidationError", err)
	}
}

func TestListRequestsFiltersAndPages(t *testing.T) {
	db, ctx := setupDB(t)
	var ids []int64
	for i := range 7 {
		requester := "alice"
		if i%2 == 1 {
			requester = "bob"
		}
		bucket := "team-a"
		if i%3 == 0 {
			bucket = "team-b"
		}
		r := mustCreate(t, db, newRequest(fmt.Sprintf("role-%d", i), requester,
			provision.BucketScope{Bucket: "shared-bucket", Access: provision.AccessRead},
			provision.BucketScope{Bucket: bucket, Access: provision.AccessWrite}))
		ids = append(ids, r.ID)
	}

	collect := func(f store.ListFilter) []int64 {
		t.Helper()
		var got []int64
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatal("paging does not end")
			}
			page, err := db.ListRequests(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Requests) > f.Limit {
				t.Fatalf("page of %d over limit %d", len(page.Requests), f.Limit)
			}
			for _, r := range page.Requests {
				got = append(got, r.ID)
				if len(r.Spec.Buckets) != 2 {
					t.Fatalf("request %d listed with %d scopes", r.ID, len(r.Spec.Buckets))
				}
			}
			if page.Next == "" {
				return got
			}
			f.Cursor = page.Next
		}
	}

	all := collect(store.ListFilter{Limit: 3})
	want := []int64{ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}
	if fmt.Sprint(all) != fmt.Sprint(want) {
		t.Fatalf("newest first = %v, want %v", all, want)
	}
	oldest := collect(store.ListFilter{Limit: 2, OldestFirst: true})
	if fmt.Sprint(oldest) != fmt.Sprint(ids) {
		t.Fatalf("oldest first = %v, want %v", oldest, ids)
	}
	bob := collect(store.ListFilter{Limit: 2, Requester: "bob", OldestFirst: true})
	if fmt.Sprint(bob) != fmt.Sprint([]int64{ids[1], ids[3], ids[5]}) {
		t.Fatalf("bob's = %v", bob)
	}
	teamB := collect(store.ListFilter{Limit: 10, Bucket: "team-b", OldestFirst: true})
	if fmt.Sprint(teamB) != fmt.Sprint([]int64{ids[0], ids[3], ids[6]}) {
		t.Fatalf("team-b = %v", teamB)
	}
	pending := collect(store.ListFilter{Limit: 100, Status: store.StatusPending})
	if len(pending) != 7 {
		t.Fatalf("pending = %v", pending)
	}
	if none := collect(store.ListFilter{Limit: 5, Status: store.StatusActive}); len(none) != 0 {
		t.Fatalf("active = %v", none)
	}
}

func TestListRequestsRefusesBadInput(t *testing.T) {
	db, ctx := setupDB(t)
	for _, f := range []store.ListFilter{
		{Cursor: "not-a-cursor"},
		{Cursor: "cjEyYQ"}, // "r12a"
		{Status: "bogus"},
		{Limit: 501},
	} {
		if _, err := db.ListRequests(ctx, f); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ListRequests(%+v) err = %v, want ErrInvalid", f, err)
		}
	}
}

func TestAppendAndListEvents(t *testing.T) {
	db, ctx := setupDB(t)
	r := mustCreate(t, db, newRequest("events-role", "alice"))
	e, err := db.AppendEvent(ctx, store.Event{RequestID: r.ID, Version: 1, Actor: "bob", Kind: "decision.approve",
		Data: map[string]any{"comment": "ok"}})
	if err != nil {
		t.Fatal(err)
	}
	if e.ID == 0 || e.CreatedAt.IsZero() {
		t.Fatalf("event = %+v", e)
	}
	if _, err := db.AppendEvent(ctx, store.Event{Actor: "system", Kind: "service.started"}); err != nil {
		t.Fatal(err)
	}
	byBob, err := db.ListEvents(ctx, store.EventFilter{Actor: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if len(byBob) != 1 || byBob[0].Data["comment"] != "ok" || byBob[0].RequestID != r.ID {
		t.Fatalf("bob's events = %+v", byBob)
	}
	forReq, err := db.ListEvents(ctx, store.EventFilter{RequestID: r.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(forReq) != 2 || forReq[0].Kind != store.EventSubmitted || forReq[1].Kind != "decision.approve" {
		t.Fatalf("request events = %+v", forReq)
	}
	after, err := db.ListEvents(ctx, store.EventFilter{AfterID: forReq[0].ID, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 1 || after[0].ID != forReq[1].ID {
		t.Fatalf("after = %+v", after)
	}
	if _, err := db.AppendEvent(ctx, store.Event{RequestID: 999999, Actor: "x", Kind: "k"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("event for a missing request: err = %v, want ErrInvalid", err)
	}
	if _, err := db.AppendEvent(ctx, store.Event{Actor: "", Kind: "k"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("event without actor: err = %v, want ErrInvalid", err)
	}
}

func TestListDecidableBy(t *testing.T) {
	t.Parallel()
	rules := store.ApprovalRules{Routes: []store.Route{{Pattern: "fin-*", Group: "finance"}}}
	db := storetest.Open(t, storetest.URL(t), store.Options{Rules: rules})
	ctx := ctxT(t)
	own := mustCreate(t, db, newRequest("bobs-own", "bob"))
	fin := mustCreate(t, db, newRequest("finance-reader", "alice", provision.BucketScope{Bucket: "fin-ledger", Access: provision.AccessRead}))
	other := mustCreate(t, db, newRequest("other-reader", "alice"))
	ids := func(a store.Actor) []int64 {
		t.Helper()
		page, err := db.ListRequests(ctx, store.ListFilter{Status: store.StatusPending, DecidableBy: &a, OldestFirst: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range page.Requests {
			out = append(out, r.ID)
		}
		return out
	}
	bob := store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}
	if got := fmt.Sprint(ids(bob)); got != fmt.Sprint([]int64{fin.ID, other.ID}) {
		t.Fatalf("approver bob sees %s; never his own %d", got, own.ID)
	}
	owner := store.Actor{Name: "dana", Groups: []string{"finance"}}
	if got := fmt.Sprint(ids(owner)); got != fmt.Sprint([]int64{fin.ID}) {
		t.Fatalf("finance data owner sees %s, want only %d", got, fin.ID)
	}
	nobody := store.Actor{Name: "eve", Roles: []store.Role{store.RoleRequester}}
	if got := ids(nobody); len(got) != 0 {
		t.Fatalf("a plain requester sees %v", got)
	}
}
