package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/jobargs"
	"github.com/rolegate/rolegate/store/storetest"
)

// busyHistory drives requests through most of the lifecycle, writing a
// few dozen events of many kinds.
func busyHistory(t *testing.T, f fixture) {
	t.Helper()
	ctx := ctxT(t)
	a := activate(t, f, mustCreate(t, f.db, newRequest("reports-reader", "alice")))
	if _, err := f.db.RequestChange(ctx, alice, a.ID, store.NewVersion{Spec: withScopes(a.Spec, read("reports"), read("exports")), Justification: "exports too"}); err != nil {
		t.Fatal(err)
	}
	provisionNow(t, f, approve(t, f.db, carol, mustGet(t, f.db, a.ID)))
	if err := f.db.RecordDrift(ctx, a.ID, 2, []string{"policy differs"}, false); err != nil {
		t.Fatal(err)
	}
	b := activate(t, f, mustCreate(t, f.db, newRequest("exports-reader", "alice", read("exports"))))
	if _, err := f.db.Revoke(ctx, dave, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CompleteRevocation(ctx, b.ID, nil); err != nil {
		t.Fatal(err)
	}
	c := mustCreate(t, f.db, newRequest("logs-writer", "alice", write("logs")))
	if _, err := f.db.Decide(ctx, bob, c.ID, 1, store.Decision{Approve: false, Comment: "no"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.AppendEvent(ctx, store.Event{Actor: "admin", Kind: "settings.changed", Data: map[string]any{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	seal(t, f.db)
}

// seal chains what is written, as the worker does every few seconds.
func seal(t *testing.T, db *store.DB) int {
	t.Helper()
	n, err := db.SealAudit(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustGet(t *testing.T, db *store.DB, id int64) store.Request {
	t.Helper()
	r, err := db.GetRequest(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func eventIDs(t *testing.T, f fixture) []int64 {
	t.Helper()
	rows, err := f.db.Pool().Query(ctxT(t), `SELECT id FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func verify(t *testing.T, db *store.DB) store.AuditReport {
	t.Helper()
	seal(t, db)
	rep, err := db.VerifyAuditChain(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// tamper runs sql as a superuser would: with the append-only trigger off.
func tamper(t *testing.T, db *store.DB, sql string, args ...any) {
	t.Helper()
	ctx := ctxT(t)
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	for _, s := range []string{`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`, sql, `ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`} {
		var a []any
		if s == sql {
			a = args
		}
		if _, err := tx.Exec(ctx, s, a...); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAuditChainDetectsAnAlteredRow(t *testing.T) {
	f, _ := setup(t, store.Options{})
	busyHistory(t, f)
	ids := eventIDs(t, f)
	if rep := verify(t, f.db); !rep.Intact() || rep.Checked != len(ids) || len(ids) < 20 {
		t.Fatalf("report on an untouched trail of %d events: %+v", len(ids), rep)
	}
	// The trigger refuses changes to whoever asks through SQL.
	for _, sql := range []string{`UPDATE audit_events SET actor = 'mallory'`, `DELETE FROM audit_events`, `TRUNCATE audit_events`} {
		if _, err := f.db.Pool().Exec(ctxT(t), sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s: err = %v, want refused", sql, err)
		}
	}

	victim := ids[len(ids)/2]
	tamper(t, f.db, `UPDATE audit_events SET data = data || '{"comment": "all fine"}' WHERE id = $1`, victim)
	rep := verify(t, f.db)
	if rep.FirstBroken != victim || !strings.HasPrefix(rep.Reason, "content altered") || rep.Checked != len(ids)/2+1 {
		t.Fatalf("report = %+v, want event %d named as altered", rep, victim)
	}
}

func TestAuditChainDetectsRewrittenAndDeletedRows(t *testing.T) {
	f, _ := setup(t, store.Options{})
	busyHistory(t, f)
	ids := eventIDs(t, f)

	// A careful forger recomputes the row's own hash: the next link breaks.
	k := len(ids) / 3
	tamper(t, f.db, `UPDATE audit_events SET actor = 'mallory',
		hash = audit_event_digest(prev_hash, request_id, version, 'mallory', kind, data, created_at) WHERE id = $1`, ids[k])
	rep := verify(t, f.db)
	if rep.FirstBroken != ids[k+1] || !strings.HasPrefix(rep.Reason, "deleted row") {
		t.Fatalf("rewritten row: report = %+v, want event %d named", rep, ids[k+1])
	}

	g := newFixture(t, store.Options{})
	busyHistory(t, g)
	ids = eventIDs(t, g)
	k = len(ids) / 2
	tamper(t, g.db, `DELETE FROM audit_events WHERE id = $1`, ids[k])
	rep = verify(t, g.db)
	if rep.FirstBroken != ids[k+1] || !strings.HasPrefix(rep.Reason, "deleted row") || !strings.Contains(rep.Reason, fmt.Sprintf("event %d", ids[k-1])) {
		t.Fatalf("deleted row: report = %+v, want event %d named after %d", rep, ids[k+1], ids[k-1])
	}

	// Deleting the very first event is caught as well.
	h := newFixture(t, store.Options{})
	busyHistory(t, h)
	ids = eventIDs(t, h)
	tamper(t, h.db, `DELETE FROM audit_events WHERE id = $1`, ids[0])
	if rep := verify(t, h.db); rep.FirstBroken != ids[1] || !strings.Contains(rep.Reason, "start of the chain") {
		t.Fatalf("deleted first row: report = %+v", rep)
	}
}

// Transactions writing several events each, at once, still leave one
// chain in ID order: no fork, no link out of order.
func TestConcurrentAppendsKeepTheChain(t *testing.T) {
	f, ctx := setup(t, store.Options{MaxConns: 8})
	errs := make(chan error, 40)
	storetest.AtOnce(10, func(i int) {
		r, err := f.db.CreateRequest(ctx, newRequest(fmt.Sprintf("role-%02d", i), "alice"))
		if err != nil {
			errs <- err
			return
		}
		// An approval writes two events in one transaction.
		if _, err := f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true}); err != nil {
			errs <- err
		}
		for j := range 3 {
			if _, err := f.db.AppendEvent(ctx, store.Event{Actor: "alice", Kind: "note.added", RequestID: r.ID, Data: map[string]any{"n": j}}); err != nil {
				errs <- err
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if rep := verify(t, f.db); !rep.Intact() || rep.Checked != 10*6 {
		t.Fatalf("report after concurrent appends: %+v, want 60 intact events", rep)
	}
}

func TestWebhookJobsPerURLInTheSameTransaction(t *testing.T) {
	urls := []string{"https://hooks.example.com/services/T01/B02/aSecret", "https://chat.example.com/b?token=anotherSecret"}
	f, ctx := setup(t, store.Options{Webhooks: urls})
	r := mustCreate(t, f.db, newRequest("reports-reader", "alice"))
	jobs := jobArgs(t, f.db, "webhook", 0)
	if len(jobs) != 2 {
		t.Fatalf("webhook jobs after submit = %v, want one per URL", jobs)
	}
	// A webhook URL may be the receiver's secret: the job names it by ID.
	var leaks int
	if err := f.db.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job
		WHERE args::text LIKE '%Secret%' OR args::text LIKE '%hooks.example.com%'`).Scan(&leaks); err != nil || leaks != 0 {
		t.Fatalf("%d webhook jobs store their receiver's URL (%v)", leaks, err)
	}
	for i, j := range jobs {
		p := j["payload"].(map[string]any)
		if _, ok := j["url"]; ok || j["receiver"] != jobargs.ReceiverID(urls[i]) || j["target"] != float64(i) || p["kind"] != store.EventSubmitted ||
			p["request_id"] != float64(r.ID) || !strings.Contains(p["text"].(string), "was submitted") {
			t.Fatalf("job %d = %v", i, j)
		}
	}
	// decision.approved is not notified; request.approved is.
	approve(t, f.db, bob, r)
	jobs = jobArgs(t, f.db, "webhook", 0)
	if len(jobs) != 4 || jobs[2]["payload"].(map[string]any)["kind"] != store.EventApproved || jobs[2]["event_id"] == jobs[0]["event_id"] {
		t.Fatalf("webhook jobs after approval = %v", jobs)
	}
	// Kinds nobody is notified of enqueue nothing.
	if _, err := f.db.AppendEvent(ctx, store.Event{Actor: "alice", Kind: "note.added", RequestID: r.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.BeginProvisioning(ctx, r.ID, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(jobArgs(t, f.db, "webhook", 0)); n != 4 {
		t.Fatalf("%d webhook jobs after un-notified events, want 4", n)
	}
	// Without webhooks configured, nothing is enqueued.
	g := newFixture(t, store.Options{})
	approve(t, g.db, bob, mustCreate(t, g.db, newRequest("reports-reader", "alice")))
	if n := len(jobArgs(t, g.db, "webhook", 0)); n != 0 {
		t.Fatalf("%d webhook jobs with none configured", n)
	}
}

// Events are written unsealed; before sealing they are as append-only as
// after, and sealing changes nothing but the seal.
func TestUnsealedEventsAreAppendOnlyToo(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	e, err := f.db.AppendEvent(ctx, store.Event{Actor: "alice", Kind: "note.added"})
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE audit_events SET actor = 'mallory' WHERE id = $1`,
		`UPDATE audit_events SET seal_seq = 999, prev_hash = '\x', hash = '\x00', actor = 'mallory' WHERE id = $1`,
		`DELETE FROM audit_events WHERE id = $1`,
	} {
		if _, err := f.db.Pool().Exec(ctx, sql, e.ID); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s on an unsealed event: err = %v, want refused", sql, err)
		}
	}
	if n := seal(t, f.db); n != 1 {
		t.Fatalf("sealed %d events, want 1", n)
	}
	if n := seal(t, f.db); n != 0 {
		t.Fatalf("sealed %d events again, want 0", n)
	}
	if _, err := f.db.Pool().Exec(ctx, `UPDATE audit_events SET seal_seq = NULL, hash = NULL, prev_hash = NULL WHERE id = $1`, e.ID); err == nil {
		t.Fatal("unsealing a sealed event was accepted")
	}
	if rep := verify(t, f.db); !rep.Intact() || rep.Checked != 1 || rep.Unsealed != 0 {
		t.Fatalf("report = %+v", rep)
	}
}
