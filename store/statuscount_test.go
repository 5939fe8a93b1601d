package store_test

import (
	"fmt"
	"maps"
	"testing"

	"github.com/rolegate/rolegate/store"
)

// countedByScan is what counting the requests gives.
func countedByScan(t *testing.T, db *store.DB) map[store.Status]int {
	t.Helper()
	rows, err := db.Pool().Query(ctxT(t), `SELECT status, count(*) FROM requests GROUP BY status`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[store.Status]int{}
	for rows.Next() {
		var s store.Status
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCountByStatusFollowsEveryChange: the kept counts equal a count of
// the rows after creations, decisions, provisioning, a change and
// cancellations, and after they are folded (more rows than the reader
// sums before folding), including a status whose count falls to zero.
func TestCountByStatusFollowsEveryChange(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	check := func(when string) {
		t.Helper()
		got, err := f.db.CountByStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := countedByScan(t, f.db); !maps.Equal(got, want) {
			t.Fatalf("%s: CountByStatus = %v, counting the rows gives %v", when, got, want)
		}
	}
	check("empty")
	r := activate(t, f, mustCreate(t, f.db, newRequest("counted-live", "alice")))
	if _, err := f.db.RequestChange(ctx, alice, r.ID, store.NewVersion{Spec: r.Spec, Justification: "again"}); err != nil {
		t.Fatal(err)
	}
	check("after a change")
	var ids []int64
	for i := range 300 {
		ids = append(ids, mustCreate(t, f.db, newRequest(fmt.Sprintf("counted-%03d", i), "alice")).ID)
	}
	check("after 300 creations")
	var stored int
	if err := f.db.Pool().QueryRow(ctx, `SELECT count(*) FROM request_status_counts`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored > 2 {
		t.Fatalf("%d rows of counts after a read of more than 256: not folded", stored)
	}
	for _, id := range ids {
		if _, err := f.db.Cancel(ctx, alice, id); err != nil {
			t.Fatal(err)
		}
	}
	check("after cancelling them")
}
