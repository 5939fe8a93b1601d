package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// fixture is a store on a database of the test's own, its clock and rules.
type fixture struct {
	db    *store.DB
	clock *storetest.Clock
}

// financeRoute sends requests for finance-* buckets to the finance group.
var financeRoute = store.Route{Pattern: "finance-*", Group: "finance"}

// setup marks the test parallel and returns its fixture on a store opened
// with opts, and a context that ends with the test.
func setup(t *testing.T, opts store.Options) (fixture, context.Context) {
	t.Helper()
	t.Parallel()
	return newFixture(t, opts), ctxT(t)
}

// setupDB marks the test parallel and returns a store with the defaults
// of storetest, and a context that ends with the test.
func setupDB(t *testing.T) (*store.DB, context.Context) {
	t.Helper()
	t.Parallel()
	return storetest.New(t), ctxT(t)
}

// setupEmpty marks the test parallel and returns a store on a database
// with no schema at all, for tests of the migrations, and a context that
// ends with the test.
func setupEmpty(t *testing.T) (*store.DB, context.Context) {
	t.Helper()
	t.Parallel()
	return storetest.Open(t, storetest.EmptyURL(t), store.Options{}), ctxT(t)
}

// setupTurkish marks the test parallel and returns a store on a migrated
// database whose collation is Turkish (ICU tr-TR: lower('I') is 'ı'), for
// what must not fold case by the collation, and a context that ends with
// the test.
func setupTurkish(t *testing.T) (*store.DB, context.Context) {
	t.Helper()
	t.Parallel()
	ctx := ctxT(t)
	db := storetest.Open(t, storetest.ICUURL(t, "tr-TR"), store.Options{})
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return db, ctx
}

// newFixture is a fixture of its own, for a test that needs a second store.
func newFixture(t *testing.T, opts store.Options) fixture {
	t.Helper()
	// Near real time: spec validation checks expiries against the wall clock.
	clock := storetest.NewClock(time.Now().UTC().Truncate(time.Second))
	opts.Now = clock.Now
	if opts.Rules.Routes == nil {
		opts.Rules.Routes = []store.Route{financeRoute}
	}
	if opts.Settings == nil {
		set := provision.DefaultSettings()
		opts.Settings = &set
	}
	return fixture{db: storetest.Open(t, storetest.URL(t), opts), clock: clock}
}

// The cast of every test.
var (
	alice   = store.Actor{Name: "alice", Roles: []store.Role{store.RoleRequester}}
	mallory = store.Actor{Name: "mallory", Roles: []store.Role{store.RoleRequester}}
	bob     = store.Actor{Name: "bob", Roles: []store.Role{store.RoleRequester, store.RoleApprover}}
	carol   = store.Actor{Name: "carol", Roles: []store.Role{store.RoleApprover}}
	dave    = store.Actor{Name: "dave", Roles: []store.Role{store.RoleAdmin}}
	// erin owns the finance data: she decides only what is routed to her.
	erin = store.Actor{Name: "erin", Roles: []store.Role{store.RoleRequester}, Groups: []string{"finance"}}
)

func read(bucket string) provision.BucketScope {
	return provision.BucketScope{Bucket: bucket, Access: provision.AccessRead}
}

func write(bucket string) provision.BucketScope {
	return provision.BucketScope{Bucket: bucket, Access: provision.AccessWrite}
}

func approve(t *testing.T, db *store.DB, who store.Actor, r store.Request) store.Request {
	t.Helper()
	got, err := db.Decide(ctxT(t), who, r.ID, r.Version, store.Decision{Approve: true, Comment: "ok"})
	if err != nil {
		t.Fatalf("%s approves request %d v%d: %v", who.Name, r.ID, r.Version, err)
	}
	return got
}

// wantFieldErr fails unless err is a *provision.ValidationError of one
// problem, at field, that says contains.
func wantFieldErr(t *testing.T, err error, field, contains string) {
	t.Helper()
	var verr *provision.ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != 1 || verr.Problems[0].Field != field {
		t.Fatalf("err = %v, want a validation error at %s", err, field)
	}
	if !strings.Contains(verr.Problems[0].Message, contains) {
		t.Fatalf("%s: %q, want it to say %q", field, verr.Problems[0].Message, contains)
	}
}

func wantErr(t *testing.T, err, kind error, contains string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
	if contains != "" && !strings.Contains(err.Error(), contains) {
		t.Fatalf("err = %q, want it to say %q", err, contains)
	}
}

func wantStatus(t *testing.T, db *store.DB, id int64, want store.Status) store.Request {
	t.Helper()
	r, err := db.GetRequest(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != want {
		t.Fatalf("request %d is %s (%s), want %s", id, r.Status, r.StatusReason, want)
	}
	return r
}

// jobArgs returns the args of the River jobs of kind for request id (0:
// all), oldest first.
func jobArgs(t *testing.T, db *store.DB, kind string, id int64) []map[string]any {
	t.Helper()
	rows, err := db.Pool().Query(ctxT(t), `SELECT args FROM river_job
		WHERE kind = $1 AND ($2 = 0 OR (args->>'request_id')::bigint = $2) ORDER BY id`, kind, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		var m map[string]any
		if err := rows.Scan(&m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func countEvents(t *testing.T, db *store.DB, id int64, kind string) int {
	t.Helper()
	events, err := db.ListEvents(ctxT(t), store.EventFilter{RequestID: id, Kind: kind, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(events)
}

func withScopes(spec provision.RoleSpec, scopes ...provision.BucketScope) provision.RoleSpec {
	spec.Buckets = scopes
	return spec
}

// result is what a provisioning run of version v of role name hands back.
func result(name string, v int) store.ProvisionResult {
	return store.ProvisionResult{
		RoleARN:            "arn:aws:iam::123456789012:role/rolegate/" + name,
		InstanceProfileARN: "arn:aws:iam::123456789012:instance-profile/rolegate/" + name,
		Terraform:          []byte("# " + name + " version " + string(rune('0'+v)) + "\nresource \"aws_iam_role\" \"this\" {}\n"),
		Steps: []store.Step{
			{Resource: "role", Name: name, ARN: "arn:aws:iam::123456789012:role/rolegate/" + name, Outcome: "created"},
			{Resource: "instance-profile", Name: name, Outcome: "created"},
		},
	}
}

// provision runs the worker's side for the current version of an approved
// request.
func provisionNow(t *testing.T, f fixture, r store.Request) store.Request {
	t.Helper()
	ctx := ctxT(t)
	if _, err := f.db.BeginProvisioning(ctx, r.ID, r.Version); err != nil {
		t.Fatalf("BeginProvisioning(%d, %d): %v", r.ID, r.Version, err)
	}
	if err := f.db.CompleteProvisioning(ctx, r.ID, r.Version, result(r.Spec.Name, r.Version)); err != nil {
		t.Fatalf("CompleteProvisioning(%d, %d): %v", r.ID, r.Version, err)
	}
	return mustGet(t, f.db, r.ID)
}

// activate approves a read-only request (bob's single approval is the
// quorum) and provisions it.
func activate(t *testing.T, f fixture, r store.Request) store.Request {
	t.Helper()
	r = approve(t, f.db, bob, r)
	if r.Status != store.StatusApproved {
		t.Fatalf("activate: request %d is %s after one approval", r.ID, r.Status)
	}
	return provisionNow(t, f, r)
}

// expiring is in asking for an expiry at.
func expiring(in store.NewRequest, at time.Time) store.NewRequest {
	in.Spec.ExpiresAt = &at
	return in
}

// setupBelow is setupEmpty with the schema migrated up and then down
// below version, for tests of what a migration does to rows stored before
// it.
func setupBelow(t *testing.T, version int64) (*store.DB, context.Context) {
	t.Helper()
	db, ctx := setupEmpty(t)
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	migrateDownBelow(t, db, version)
	return db, ctx
}

// migrateDownBelow takes db's schema down, one migration at a time, until
// migration version and every later one are undone.
func migrateDownBelow(t *testing.T, db *store.DB, version int64) {
	t.Helper()
	ctx := ctxT(t)
	for {
		var v int64
		if err := db.Pool().QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v < version {
			return
		}
		if err := db.MigrateDown(ctx); err != nil {
			t.Fatalf("migrate down from %d: %v", v, err)
		}
	}
}
