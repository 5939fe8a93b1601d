package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

func TestExpiredRoleIsRemoved(t *testing.T) {
	t.Parallel()
	clk := storetest.NewClock(time.Now().UTC())
	e := setup(t, func(c *worker.Config, o *store.Options) {
		o.Now = clk.Now
		c.ExpiryInterval = 100 * time.Millisecond
	})
	ctx := context.Background()
	expires := clk.Now().Add(48 * time.Hour)
	r, err := e.db.CreateRequest(ctx, store.NewRequest{Requester: alice.Name, Justification: "two days of backfill",
		Spec: provision.RoleSpec{Name: "temporary", Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}},
			ExpiresAt: &expires}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(24 * time.Hour) // approved a day later: the lifetime counts from activation
	e.approve(r.Request)
	active := e.await(r.ID, store.StatusActive)
	if active.ExpiresAt == nil || !active.ExpiresAt.Equal(active.ActivatedAt.Add(48*time.Hour)) {
		t.Fatalf("expires at %v, activated at %v: want activation + 48h", active.ExpiresAt, active.ActivatedAt)
	}
	clk.Advance(47 * time.Hour)
	if got, _ := e.db.GetRequest(ctx, r.ID); got.Status != store.StatusActive {
		t.Fatalf("expired early: %s", got.Status)
	}
	clk.Advance(2 * time.Hour)
	e.await(r.ID, store.StatusExpired)
	if e.roleExists("temporary") {
		t.Fatal("expired role still exists in IAM")
	}
}

func TestExpireJobRemovesOldIdempotencyKeys(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *worker.Config, _ *store.Options) { c.ExpiryInterval = 100 * time.Millisecond })
	ctx := context.Background()
	if _, err := e.db.Pool().Exec(ctx, `INSERT INTO idempotency_keys (user_name, key, method, path, request_sha256, created_at)
		VALUES ('alice', 'old', 'POST', '/api/v1/requests', decode(repeat('00', 32), 'hex'), now() - interval '25 hours'),
		       ('alice', 'new', 'POST', '/api/v1/requests', decode(repeat('00', 32), 'hex'), now())`); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() (bool, string) {
		rows, err := e.db.Pool().Query(ctx, `SELECT key FROM idempotency_keys ORDER BY key`)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return len(keys) == 1 && keys[0] == "new", fmt.Sprintf("keys after the expiry job: %v, want only the recent one", keys)
	})
}

func TestWorkerSealsTheAuditTrail(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *worker.Config, _ *store.Options) { c.SealInterval = 100 * time.Millisecond })
	ctx := context.Background()
	e.activate("sealed")
	eventually(t, func() (bool, string) {
		rep, err := e.db.VerifyAuditChain(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Intact() {
			t.Fatalf("chain broken: %+v", rep)
		}
		return rep.Unsealed == 0 && rep.Checked > 0, fmt.Sprintf("events still unsealed after 30s: %+v", rep)
	})
}
