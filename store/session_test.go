package store_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	var offset atomic.Int64
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	db := storetest.Open(t, storetest.URL(t), store.Options{Now: func() time.Time { return now.Add(time.Duration(offset.Load())) }})

	s, id, err := db.CreateSession(ctx, store.NewSession{User: "carol", Roles: []store.Role{store.RoleAdmin},
		Groups: []string{"admins"}, SignedInAt: now.Add(-time.Hour), Lifetime: time.Hour * 12})
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 43 || !s.SignedInAt.Equal(now.Add(-time.Hour)) || !s.ExpiresAt.Equal(now.Add(12*time.Hour)) {
		t.Fatalf("CreateSession = %+v, %q", s, id)
	}
	got, err := db.LookupSession(ctx, id)
	if err != nil || got.Ref != s.Ref || !got.Actor().Has(store.RoleAdmin) || !got.Actor().InGroup("admins") {
		t.Fatalf("LookupSession = %+v, %v", got, err)
	}
	// The database holds only a hash of the ID.
	var leaked bool
	if err := db.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM web_sessions WHERE position($1 IN row(web_sessions.*)::text) > 0)`,
		id).Scan(&leaked); err != nil || leaked {
		t.Fatalf("session ID stored in clear (leaked=%v, err=%v)", leaked, err)
	}
	for _, bad := range []string{"", id[:42] + "x", strings.Repeat("a", 43)} {
		if _, err := db.LookupSession(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LookupSession(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	// A sign-in time in the future is taken as now.
	future, _, err := db.CreateSession(ctx, store.NewSession{User: "carol", SignedInAt: now.Add(time.Hour), Lifetime: time.Hour})
	if err != nil || !future.SignedInAt.Equal(now) {
		t.Fatalf("future sign-in = %+v, %v", future, err)
	}
	for _, bad := range []store.NewSession{{User: " ", Lifetime: time.Hour}, {User: "x"}, {User: "x", Lifetime: time.Hour, Roles: []store.Role{"root"}},
		{User: "\u202eecila", Lifetime: time.Hour}, {User: "eve\tx", Lifetime: time.Hour},
		// The names rolegate records its own actions under, in any case.
		{User: "worker", Lifetime: time.Hour}, {User: "Drift-Check", Lifetime: time.Hour}, {User: "ROLEGATE", Lifetime: time.Hour},
		{User: "cli", Lifetime: time.Hour}, {User: " access-review", Lifetime: time.Hour}} {
		if _, _, err := db.CreateSession(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CreateSession(%+v) = %v, want ErrInvalid", bad, err)
		}
	}

	// Signing out ends that session only.
	_, other, err := db.CreateSession(ctx, store.NewSession{User: "carol", Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.EndSession(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := db.EndSession(ctx, id); err != nil {
		t.Fatalf("second sign-out: %v", err)
	}
	if _, err := db.LookupSession(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ended session still found: %v", err)
	}
	if _, err := db.LookupSession(ctx, other); err != nil {
		t.Fatalf("the other session ended too: %v", err)
	}

	// Ending a user's sessions ends all of theirs, no one else's, and is audited.
	_, alices, err := db.CreateSession(ctx, store.NewSession{User: "alice", Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if list, err := db.ListSessions(ctx, "carol", 10); err != nil || len(list) != 2 {
		t.Fatalf("carol's sessions = %+v, %v", list, err)
	}
	if n, err := db.EndUserSessions(ctx, "carol", "dana"); err != nil || n != 2 {
		t.Fatalf("EndUserSessions = %d, %v; want 2", n, err)
	}
	if _, err := db.LookupSession(ctx, other); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("carol's session survived: %v", err)
	}
	if _, err := db.LookupSession(ctx, alices); err != nil {
		t.Errorf("alice's session ended: %v", err)
	}
	evs, err := db.ListEvents(ctx, store.EventFilter{Kind: store.EventSessionsEnded})
	if err != nil || len(evs) != 1 || evs[0].Actor != "dana" || evs[0].Data["user"] != "carol" {
		t.Fatalf("audit = %+v, %v", evs, err)
	}
	if n, err := db.EndUserSessions(ctx, "carol", "dana"); err != nil || n != 0 {
		t.Fatalf("ending none = %d, %v", n, err)
	}

	// Expired sessions are not found, and a new session deletes them.
	offset.Store(int64(2 * time.Hour))
	if _, err := db.LookupSession(ctx, alices); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session found: %v", err)
	}
	if list, err := db.ListSessions(ctx, "", 10); err != nil || len(list) != 0 {
		t.Fatalf("live sessions after expiry = %+v, %v", list, err)
	}
	if _, _, err := db.CreateSession(ctx, store.NewSession{User: "bob", Lifetime: time.Hour}); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM web_sessions`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("rows after cleanup = %d, %v; want only bob's", rows, err)
	}
}
