package store_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// TestExpiryBeyondTheBoundIsRefused: a requester's expiry, and an
// approver's, is at most provision.MaxExpiryYears ahead, refused at the
// expires_at field, so no lifetime reaches the arithmetic that a time
// further away would overflow.
func TestExpiryBeyondTheBoundIsRefused(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	y2400 := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := f.db.CreateRequest(ctx, expiring(newRequest("far-reader", "alice"), y2400))
	wantExpiryProblem(t, err, "at most 10 years ahead")

	// An approver may set an expiry on a request that asked for none,
	// within the same bound.
	r := mustCreate(t, f.db, newRequest("open-reader", "alice"))
	_, err = f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, ExpiresAt: &y2400})
	wantExpiryProblem(t, err, "at most 10 years ahead")
	if got := mustGet(t, f.db, r.ID); got.Status != store.StatusPending {
		t.Fatalf("request is %s after a refused approval, want pending", got.Status)
	}
	past := f.clock.Now().Add(-time.Hour)
	_, err = f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, ExpiresAt: &past})
	wantExpiryProblem(t, err, "must be in the future")
	inNineYears := f.clock.Now().AddDate(9, 0, 0)
	if r, err = f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, ExpiresAt: &inNineYears}); err != nil || r.Status != store.StatusApproved {
		t.Fatalf("approve with an expiry nine years ahead: %+v, %v", r, err)
	}
}

func wantExpiryProblem(t *testing.T, err error, msg string) {
	t.Helper()
	var verr *provision.ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != 1 || verr.Problems[0].Field != "expires_at" ||
		!strings.Contains(verr.Problems[0].Message, msg) {
		t.Fatalf("err = %v, want a problem at expires_at saying %q", err, msg)
	}
}

// TestLongLifetimesDoNotWrapAround: a lifetime stored before expiries
// were bounded goes live as asked, not wrapped around by time.Duration's
// 292 years; one too long for any date JSON can write stops at the
// latest the store keeps.
func TestLongLifetimesDoNotWrapAround(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	y2400 := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		ttl  int64 // seconds
		want time.Time
	}{
		// Asked for 2400 at submission; activated an hour later.
		{"to-2400", y2400.Unix() - f.clock.Now().Unix(), y2400.Add(time.Hour)},
		{"for-ever", 400_000 * 366 * 24 * 3600, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)},
	} {
		r := mustCreate(t, f.db, expiring(newRequest(c.name, "alice"), f.clock.Now().Add(48*time.Hour)))
		if _, err := f.db.Pool().Exec(ctx, `UPDATE request_versions SET expires_at = $2, requested_ttl_seconds = $3
			WHERE request_id = $1`, r.ID, y2400, c.ttl); err != nil {
			t.Fatal(err)
		}
		approve(t, f.db, bob, r)
		f.clock.Advance(time.Hour)
		active := provisionNow(t, f, mustGet(t, f.db, r.ID))
		if active.ExpiresAt == nil || !active.ExpiresAt.Equal(c.want) {
			t.Errorf("%s: expires at %v, want %v", c.name, active.ExpiresAt, c.want)
		}
		if _, err := json.Marshal(active); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		f.clock.Advance(-time.Hour)
	}
}

// TestExpiryMigrationCapsDatesJSONCannotWrite: migration 16 brings every
// expiry stored past the year 9999 (an RFC 3339 offset made
// 9999-12-31T23:59:59-23:00 the year 10000 in UTC) back to 31 December
// 9999, which JSON can write, and the database refuses such dates from
// then on.
func TestExpiryMigrationCapsDatesJSONCannotWrite(t *testing.T) {
	db, ctx := setupBelow(t, 16)
	if _, err := db.Pool().Exec(ctx, `
		BEGIN;
		SET CONSTRAINTS ALL DEFERRED;
		INSERT INTO requests (id, account, role_name, requester, status, version, live_version, role_arn, instance_profile_arn,
			activated_at, expires_at) OVERRIDING SYSTEM VALUE
		VALUES (1, 'default', 'far-reader', 'alice', 'active', 1, 1, 'arn:aws:iam::123456789012:role/rolegate/far-reader',
			'arn:aws:iam::123456789012:instance-profile/rolegate/far-reader', now(), '10000-01-01T22:59:59Z'),
		       (2, 'default', 'near-reader', 'alice', 'active', 1, 1, 'arn:aws:iam::123456789012:role/rolegate/near-reader',
			'arn:aws:iam::123456789012:instance-profile/rolegate/near-reader', now(), '2030-01-01T00:00:00Z');
		INSERT INTO request_versions (request_id, version, justification, created_by, expires_at, requested_ttl_seconds, search_doc)
		VALUES (1, 1, 'why', 'alice', '10000-01-01T22:59:59Z', 251000000000, ''), (2, 1, 'why', 'alice', '2030-01-01T00:00:00Z', 100000, '');
		INSERT INTO request_scopes (request_id, version, position, bucket, prefix, access)
		VALUES (1, 1, 0, 'alpha', '', 'read'), (2, 1, 0, 'alpha', 'b/', 'read');
		COMMIT`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	capped := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	for id, want := range map[int64]time.Time{1: capped, 2: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} {
		r := mustGet(t, db, id)
		if r.ExpiresAt == nil || !r.ExpiresAt.Equal(want) || r.Spec.ExpiresAt == nil || !r.Spec.ExpiresAt.Equal(want) {
			t.Errorf("request %d expires at %v (spec %v), want %v", id, r.ExpiresAt, r.Spec.ExpiresAt, want)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Errorf("request %d: %v", id, err)
		}
	}
	for _, stmt := range []string{
		`UPDATE requests SET expires_at = '10000-01-01T00:00:00Z' WHERE id = 2`,
		`UPDATE request_versions SET expires_at = '10000-01-01T00:00:00Z' WHERE request_id = 2`,
	} {
		if _, err := db.Pool().Exec(ctx, stmt); err == nil {
			t.Errorf("%s: accepted", stmt)
		}
	}
}

// TestChangeKeepingAnExpiryFromBeforeTheBound: a role whose expiry was
// set more than 10 years out before expiries were bounded can still be
// changed by a change that keeps that expiry (it asks for nothing new);
// asking for another one beyond the bound is refused.
func TestChangeKeepingAnExpiryFromBeforeTheBound(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	y2400 := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)
	r := mustCreate(t, f.db, expiring(newRequest("old-reader", "alice", read("alpha")), f.clock.Now().Add(48*time.Hour)))
	if _, err := f.db.Pool().Exec(ctx, `UPDATE request_versions SET expires_at = $2, requested_ttl_seconds = $3 WHERE request_id = $1`,
		r.ID, y2400, y2400.Unix()-f.clock.Now().Unix()); err != nil {
		t.Fatal(err)
	}
	r = activate(t, f, mustGet(t, f.db, r.ID))
	later := y2400.Add(24 * time.Hour)
	other := withScopes(r.Spec, read("alpha"), read("beta"))
	other.ExpiresAt = &later
	_, err := f.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: other, Justification: "more, for longer"})
	var verr *provision.ValidationError
	if !errors.As(err, &verr) || verr.Problems[0].Field != "expires_at" || !strings.Contains(err.Error(), "at most 10 years ahead") {
		t.Fatalf("a change asking for another expiry past the bound: %v", err)
	}
	c, err := f.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: withScopes(r.Spec, read("alpha"), read("beta")), Justification: "more"})
	if err != nil {
		t.Fatalf("a change keeping the expiry in force: %v", err)
	}
	if c.Spec.ExpiresAt == nil || !c.Spec.ExpiresAt.Equal(y2400) || c.Status != store.StatusPending {
		t.Fatalf("the change: %+v (expiry %v)", c, c.Spec.ExpiresAt)
	}
}
