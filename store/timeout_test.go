package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// A decision that waits on a row another transaction holds (FOR UPDATE)
// longer than it may ends with ErrTimeout, whichever clock ran out: the
// deadline of the caller's context (pgx closes the connection, which
// looked like a broken one: ErrUnavailable, which says the database is
// away), the server's statement_timeout (57014, which passed through as
// an error of no kind: an internal error) or its lock_timeout (55P03, the
// same). Its connection goes back to
// the pool, nothing of it is written, and once the lock is gone the same
// decision goes through.
func TestDecisionBehindRowLockIsATimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		open func(t *testing.T, dsn string) (*store.DB, context.Context)
	}{
		{"context deadline", func(t *testing.T, dsn string) (*store.DB, context.Context) {
			ctx, cancel := context.WithTimeout(ctxT(t), 300*time.Millisecond)
			t.Cleanup(cancel)
			return storetest.Open(t, dsn, store.Options{}), ctx
		}},
		{"statement_timeout", withDatabaseSetting("statement_timeout = 500")},
		{"lock_timeout", withDatabaseSetting("lock_timeout = 300")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			dsn := storetest.URL(t)
			db, short := tc.open(t, dsn)
			r := mustCreate(t, db, newRequest("locked-report", "alice"))

			holder, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Close(context.WithoutCancel(ctx))
			lock, err := holder.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lock.Exec(ctx, `SELECT id FROM requests WHERE id = $1 FOR UPDATE`, r.ID); err != nil {
				t.Fatal(err)
			}

			_, err = db.Decide(short, carol, r.ID, r.Version, store.Decision{Approve: true})
			if !errors.Is(err, store.ErrTimeout) || errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("decision behind a row lock: %v, want a timeout", err)
			}
			var se *store.Error
			if errors.As(err, &se); se == nil || se.Message != "the database took too long to answer; try again in a few seconds" {
				t.Errorf("the timeout says %v", err)
			}
			// While the lock is still held: the pool has the connection
			// back (a broken one is closed in the background).
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for db.Pool().Stat().AcquiredConns() != 0 {
				select {
				case <-ctx.Done():
					t.Fatalf("%d connections still held after the timeout", db.Pool().Stat().AcquiredConns())
				case <-tick.C:
				}
			}

			if err := lock.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			got := wantStatus(t, db, r.ID, store.StatusPending)
			if d := got.DecisionOf("carol"); d != nil || countEvents(t, db, r.ID, store.EventDecisionApproved) != 0 {
				t.Fatalf("the timed-out decision was written: %+v", d)
			}
			if _, err := db.Decide(ctx, carol, r.ID, r.Version, store.Decision{Approve: true}); err != nil {
				t.Fatalf("the same decision once the lock is gone: %v", err)
			}
		})
	}
}

// A transaction whose statements all ran before the deadline commits,
// though the deadline passes before COMMIT is sent: COMMIT (and ROLLBACK)
// run on a short context of their own. On the request's context a
// deadline at that moment threw the finished work away, and one passing
// while COMMIT was under way left the caller told "timed out" of a write
// the database may have committed.
func TestTransactionFinishedBeforeTheDeadlineCommits(t *testing.T) {
	db, ctx := setupDB(t)
	r := mustCreate(t, db, newRequest("late-commit", "alice"))
	short, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := db.InTx(short, func(tx pgx.Tx) error {
		if _, err := tx.Exec(short, `UPDATE request_versions SET justification = 'written in time' WHERE request_id = $1`, r.ID); err != nil {
			return err
		}
		cancel() // the context ends, as at a deadline, as the last statement returns
		return nil
	})
	if err != nil {
		t.Fatalf("a transaction finished before its deadline: %v", err)
	}
	if got := wantStatus(t, db, r.ID, store.StatusPending); got.Justification != "written in time" {
		t.Fatalf("justification %q: the finished work was not committed", got.Justification)
	}
}

// withDatabaseSetting opens the store on the test's database once setting
// ("statement_timeout = 500") is the database's default for new sessions.
func withDatabaseSetting(setting string) func(t *testing.T, dsn string) (*store.DB, context.Context) {
	return func(t *testing.T, dsn string) (*store.DB, context.Context) {
		conn, err := pgx.Connect(ctxT(t), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.WithoutCancel(ctxT(t)))
		if _, err := conn.Exec(ctxT(t), `DO $$ BEGIN
			EXECUTE format('ALTER DATABASE %I SET `+setting+`', current_database()); END $$`); err != nil {
			t.Fatal(err)
		}
		return storetest.Open(t, dsn, store.Options{}), ctxT(t)
	}
}
