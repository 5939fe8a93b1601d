package store_test

import (
	"testing"

	"github.com/rolegate/rolegate/store"
)

// Every job the store inserts carries the configured attempts, not
// River's default of 25: the worker gives up (and fails the request) on
// the attempt count stored with the job.
func TestJobsCarryTheConfiguredAttempts(t *testing.T) {
	f, ctx := setup(t, store.Options{JobAttempts: 3, Webhooks: []string{"http://127.0.0.1:9/hook"}})
	r := activate(t, f, mustCreate(t, f.db, newRequest("reports-reader", "alice")))
	if _, err := f.db.Revoke(ctx, alice, r.ID); err != nil {
		t.Fatal(err)
	}
	rows, err := f.db.Pool().Query(ctx, `SELECT kind, max_attempts FROM river_job ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]int{}
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("%s job has max_attempts %d, want the configured 3", kind, n)
		}
		seen[kind]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"provision", "revoke", "webhook"} {
		if seen[kind] == 0 {
			t.Errorf("no %s job inserted (saw %v)", kind, seen)
		}
	}
}

// Without a setting, jobs get the worker's default of 10 attempts.
func TestJobsDefaultToTenAttempts(t *testing.T) {
	f, _ := setup(t, store.Options{})
	r := approve(t, f.db, bob, mustCreate(t, f.db, newRequest("reports-reader", "alice")))
	var n int
	if err := f.db.Pool().QueryRow(ctxT(t), `SELECT max_attempts FROM river_job
		WHERE kind = 'provision' AND (args->>'request_id')::bigint = $1`, r.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 10 {
		t.Fatalf("max_attempts = %d, want 10", n)
	}
}
