package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

const day = 24 * time.Hour

var quarterly = store.ReviewPolicy{Interval: 90 * day, Grace: 14 * day}

// A role whose owner does not answer its access review gets the reminder
// webhook when the review falls due and is removed from IAM the grace
// later, by the revocation job, recorded under the review actor; a role
// confirmed meanwhile stays.
func TestUnansweredReviewRevokesTheRoleInIAM(t *testing.T) {
	t.Parallel()
	reminders := make(chan map[string]any, 16)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err == nil && body["kind"] == store.EventReviewReminder {
			reminders <- body
		}
	}))
	t.Cleanup(recv.Close)
	clk := storetest.NewClock(time.Now().UTC())
	e := setup(t, func(c *worker.Config, o *store.Options) {
		o.Now, o.Reviews, o.Webhooks = clk.Now, quarterly, []string{recv.URL}
		c.WebhookSecret, c.WebhookURLs = "s3cret", []string{recv.URL}
		c.ReviewCheckInterval = 100 * time.Millisecond
	})
	ctx := context.Background()
	lapsing, kept := e.submit("forgotten"), e.submit("still-needed")
	e.approve(lapsing)
	e.approve(kept)
	e.await(lapsing.ID, store.StatusActive)
	e.await(kept.ID, store.StatusActive)

	clk.Advance(90 * day)
	got := map[float64]bool{}
	for len(got) < 2 {
		select {
		case body := <-reminders:
			got[body["request_id"].(float64)] = true
			if body["actor"] != store.ReviewActor {
				t.Fatalf("reminder %v", body)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("reminders received for %v; want both roles", got)
		}
	}
	if _, err := e.db.ConfirmReview(ctx, alice, kept.ID, "the nightly job still runs"); err != nil {
		t.Fatal(err)
	}
	if !e.roleExists("forgotten") {
		t.Fatal("the role was removed before the grace ended")
	}

	clk.Advance(14 * day)
	e.await(lapsing.ID, store.StatusRevoked)
	if e.roleExists("forgotten") || e.profileExists("forgotten") {
		t.Fatal("the unconfirmed role is still in IAM after its revocation")
	}
	if r, err := e.db.GetRequest(ctx, kept.ID); err != nil || r.Status != store.StatusActive || !e.roleExists("still-needed") {
		t.Fatalf("the confirmed role: %s, %v (in IAM: %v)", r.Status, err, e.roleExists("still-needed"))
	}
	events, err := e.db.ListEvents(ctx, store.EventFilter{RequestID: lapsing.ID, Kind: store.EventRevokeRequested})
	if err != nil || len(events) != 1 || events[0].Actor != store.ReviewActor {
		t.Fatalf("revoke.requested events %+v, %v; want one by %s", events, err, store.ReviewActor)
	}
	if n := countKind(t, e, lapsing.ID, store.EventReviewLapsed); n != 1 {
		t.Fatalf("%d review.lapsed events", n)
	}
}

// Two workers running the review check at the same moment, on their own
// connection pools, neither remind of a role twice nor revoke it twice.
func TestReviewCheckRunTwiceAtOnce(t *testing.T) {
	t.Parallel()
	clk := storetest.NewClock(time.Now().UTC())
	opts := store.Options{Now: clk.Now, Reviews: quarterly, Webhooks: []string{"http://127.0.0.1:9/hook"}, MaxConns: 4}
	url := storetest.URL(t)
	dbs := []*store.DB{storetest.Open(t, url, opts), storetest.Open(t, url, opts)}
	ctx := context.Background()
	const roles = 40
	var ids []int64
	for i := range roles {
		ids = append(ids, activateInStore(t, dbs[0], fmt.Sprintf("role-%02d", i)))
	}

	// once runs the check on both stores at once and returns the totals.
	once := func() (revoked, reminded int) {
		var mu sync.Mutex
		storetest.AtOnce(len(dbs), func(i int) {
			rv, rm, err := worker.CheckReviews(ctx, dbs[i])
			if err != nil {
				t.Errorf("CheckReviews: %v", err)
			}
			mu.Lock()
			revoked, reminded = revoked+rv, reminded+rm
			mu.Unlock()
		})
		return revoked, reminded
	}
	clk.Advance(90 * day)
	for round := range 3 {
		if revoked, reminded := once(); revoked != 0 || (round == 0 && reminded != roles) || (round > 0 && reminded != 0) {
			t.Fatalf("round %d when due: revoked %d, reminded %d", round, revoked, reminded)
		}
	}
	clk.Advance(14 * day)
	for round := range 3 {
		if revoked, reminded := once(); reminded != 0 || (round == 0 && revoked != roles) || (round > 0 && revoked != 0) {
			t.Fatalf("round %d after the grace: revoked %d, reminded %d", round, revoked, reminded)
		}
	}
	for _, id := range ids {
		for kind, want := range map[string]int{store.EventReviewReminder: 1, store.EventReviewLapsed: 1, store.EventRevokeRequested: 1} {
			events, err := dbs[1].ListEvents(ctx, store.EventFilter{RequestID: id, Kind: kind})
			if err != nil || len(events) != want {
				t.Fatalf("request %d: %d %s events, %v; want %d", id, len(events), kind, err, want)
			}
		}
	}
	var revokeJobs, webhookJobs int
	if err := dbs[0].Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE kind = 'revoke'),
		count(*) FILTER (WHERE kind = 'webhook' AND args->'payload'->>'kind' = $1) FROM river_job`,
		store.EventReviewReminder).Scan(&revokeJobs, &webhookJobs); err != nil {
		t.Fatal(err)
	}
	if revokeJobs != roles || webhookJobs != roles {
		t.Fatalf("%d revocation jobs and %d reminder webhooks for %d roles", revokeJobs, webhookJobs, roles)
	}
}

// activateInStore drives a new request to active through the store alone,
// as the worker would, without IAM, and returns its ID.
func activateInStore(t *testing.T, db *store.DB, name string) int64 {
	t.Helper()
	ctx := context.Background()
	c, err := db.CreateRequest(ctx, store.NewRequest{Requester: alice.Name, Justification: "reviews",
		Spec: provision.RoleSpec{Name: name, Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Decide(ctx, bob, c.ID, 1, store.Decision{Approve: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.BeginProvisioning(ctx, c.ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := db.CompleteProvisioning(ctx, c.ID, 1, store.ProvisionResult{
		RoleARN:            "arn:aws:iam::123456789012:role/rolegate/" + name,
		InstanceProfileARN: "arn:aws:iam::123456789012:instance-profile/rolegate/" + name,
		Terraform:          []byte("# " + name + "\n")}); err != nil {
		t.Fatal(err)
	}
	return c.ID
}
