package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/store/jobargs"
)

// ErrProvisioningRunning: a provisioning job of the request is still
// running, so a revocation must not touch IAM yet (the job could create
// again what the revocation removes). The revocation job waits and asks
// again.
var ErrProvisioningRunning = errors.New("a provisioning job of the request is still running")

// BeginRevocation returns what to destroy for a revoking request: the
// plan of its live version (or of its current one when nothing went live,
// to sweep up a partial provisioning). It returns ErrConflict when the
// request is not revoking, and ErrProvisioningRunning while a provisioning
// job of the request is running: River marks a job running before it
// calls the worker and until the worker returns, and once the request is
// revoking no provisioning job can start to write (BeginProvisioning
// refuses), so when none is running none will touch IAM again. It
// returns ErrRepairRunning while a drift repair of the request runs
// (Repair), for the same reason.
func (db *DB) BeginRevocation(ctx context.Context, id int64) (Work, error) {
	r, err := db.GetRequest(ctx, id)
	if err != nil {
		return Work{}, err
	}
	if r.Status != StatusRevoking {
		return Work{}, errorf(KindConflict, "request %d is %s, not revoking", id, r.Status)
	}
	var running bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM river_job
		WHERE state = 'running' AND kind = $2 AND (args->>'request_id')::bigint = $1)`,
		id, jobargs.Provision{}.Kind()).Scan(&running); err != nil {
		return Work{}, interpret(err)
	}
	if running {
		return Work{}, fmt.Errorf("%w (request %d)", ErrProvisioningRunning, id)
	}
	if err := repairRunning(ctx, db.pool, id); err != nil {
		return Work{}, err
	}
	v := r.LiveVersion
	if v == 0 {
		v = r.Version
	}
	return db.work(ctx, id, v)
}

// CompleteRevocation records the removed resources and ends the request as
// revoked or expired (whichever the revocation was for).
func (db *DB) CompleteRevocation(ctx context.Context, id int64, steps []Step) (Request, error) {
	now := db.now().UTC()
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var final Status
		var version int
		err := tx.QueryRow(ctx, `UPDATE requests SET status = final_status, status_reason = '', updated_at = $2
			WHERE id = $1 AND status = 'revoking' RETURNING status, version`, id, now).Scan(&final, &version)
		if err == pgx.ErrNoRows {
			return errorf(KindConflict, "request %d is not revoking", id)
		}
		if err != nil {
			return interpret(err)
		}
		for _, s := range steps {
			if _, err := db.event(ctx, tx, Event{RequestID: id, Version: version, Actor: "worker", Kind: EventProvisionStep,
				Data: map[string]any{"resource": s.Resource, "name": s.Name, "arn": s.ARN, "outcome": s.Outcome}}, now); err != nil {
				return err
			}
		}
		kind := EventRevoked
		if final == StatusExpired {
			kind = EventExpired
		}
		_, err = db.event(ctx, tx, Event{RequestID: id, Version: version, Actor: "worker", Kind: kind}, now)
		return err
	})
	if err != nil {
		return Request{}, err
	}
	return db.GetRequest(ctx, id)
}

// FailRevocation moves a revoking request to failed with the reason; an
// admin's retry runs the revocation again.
func (db *DB) FailRevocation(ctx context.Context, id int64, reason string) error {
	now := db.now().UTC()
	reason = truncate(reason, 4000)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var version int
		err := tx.QueryRow(ctx, `UPDATE requests SET status = 'failed', status_reason = $2, updated_at = $3
			WHERE id = $1 AND status = 'revoking' RETURNING version`, id, reason, now).Scan(&version)
		if err == pgx.ErrNoRows {
			return errorf(KindConflict, "request %d is not revoking", id)
		}
		if err != nil {
			return interpret(err)
		}
		_, err = db.event(ctx, tx, Event{RequestID: id, Version: version, Actor: "worker", Kind: EventFailed,
			Data: map[string]any{"reason": reason, "stage": "revoke"}}, now)
		return err
	})
}

// liveSQL selects the requests whose live version IAM should hold as
// planned, with nothing of rolegate's writing to the role: active, or
// with a change waiting for approval, or with a change whose provisioning
// failed. A failed change leaves the live version in IAM, perhaps with
// part of the change on it; that part is drift from the live version like
// any other, and repair undoes it (an admin's retry applies the change
// again). Drift checks read these. Left out: a change approved or being
// provisioned (its job is writing the new version, which a comparison
// with the live version would report and a repair undo), and a role
// being revoked or whose revocation failed (repair would put back what
// the revocation removed).
const liveSQL = `(status = 'active' OR (live_version IS NOT NULL
	AND (status = 'pending' OR (status = 'failed' AND final_status IS NULL))))`

// expirableSQL selects the requests with a live role whose lifetime runs:
// liveSQL, and a live role with a change approved or being provisioned.
// None of these states stops the clock: a requester could otherwise keep
// a role past its expiry by leaving a change undecided. A failed
// revocation is left to the owner and admins (revoking it again is one
// click), so a revocation that cannot succeed does not loop.
const expirableSQL = `(live_version IS NOT NULL AND (status IN ('active', 'pending', 'approved', 'provisioning')
	OR (status = 'failed' AND final_status IS NULL)))`

// inIAMSQL selects the requests whose live role is, in whole or in part,
// in IAM: expirableSQL, and those being revoked or whose revocation
// failed (nothing is removed until the revocation completes). Migration
// 00014's request_in_iam, which flags the live scopes, is the same test.
const inIAMSQL = `(live_version IS NOT NULL AND status IN ('active', 'pending', 'approved', 'provisioning', 'failed', 'revoking'))`

// ExpireDue starts the revocation of every live role whose lifetime has
// ended (superseding a change pending, approved, being provisioned or
// failed), and returns how many it started.
func (db *DB) ExpireDue(ctx context.Context) (int, error) {
	now := db.now().UTC()
	return db.revokeSelected(ctx, `SELECT id FROM requests WHERE `+expirableSQL+` AND expires_at <= @now
		ORDER BY expires_at LIMIT 500 FOR UPDATE SKIP LOCKED`, pgx.NamedArgs{"now": now}, "rolegate", StatusExpired, nil, now)
}

// revokeSelected starts, in one transaction, the revocation of each
// request query selects (and locks, FOR UPDATE SKIP LOCKED, so workers
// running it at once share the requests out and a request another has
// revoked meanwhile no longer matches), under actor, ending final. before,
// when set, records why first. It returns how many it started.
func (db *DB) revokeSelected(ctx context.Context, query string, args pgx.NamedArgs, actor string, final Status,
	before func(tx pgx.Tx, r Request) error, now time.Time) (int, error) {
	n := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query, args)
		if err != nil {
			return interpret(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return interpret(err)
		}
		for _, id := range ids {
			r, err := lockRequest(ctx, tx, id)
			if err != nil {
				return err
			}
			if before != nil {
				if err := before(tx, r); err != nil {
					return err
				}
			}
			if err := db.beginRevoke(ctx, tx, r, actor, final, now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// RemindExpiring records an expiry.reminder event (which webhooks receive)
// once for each live role expiring within the given time.
func (db *DB) RemindExpiring(ctx context.Context, within time.Duration) (int, error) {
	now := db.now().UTC()
	n := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE requests SET reminded_at = $1
			WHERE `+expirableSQL+` AND reminded_at IS NULL AND expires_at <= $2
			RETURNING id, live_version, expires_at`, now, now.Add(within))
		if err != nil {
			return interpret(err)
		}
		type due struct {
			id      int64
			version int
			at      time.Time
		}
		var all []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.version, &d.at); err != nil {
				rows.Close()
				return interpret(err)
			}
			all = append(all, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return interpret(err)
		}
		for _, d := range all {
			if _, err := db.event(ctx, tx, Event{RequestID: d.id, Version: d.version, Actor: "rolegate", Kind: EventExpiryReminder,
				Data: map[string]any{"expires_at": d.at.UTC().Format(time.RFC3339)}}, now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// RecordDrift stores the result of a drift check of a live role
// (liveSQL): the differences found (none clears the flag) and whether they
// were repaired. It writes an event only when something differed.
func (db *DB) RecordDrift(ctx context.Context, id int64, version int, changes []string, repaired bool) error {
	now := db.now().UTC()
	return db.inTx(ctx, func(tx pgx.Tx) error {
		drifted := len(changes) > 0 && !repaired
		tag, err := tx.Exec(ctx, `UPDATE requests SET drifted = $3 WHERE id = $1 AND live_version = $2 AND `+liveSQL,
			id, version, drifted)
		if err != nil {
			return interpret(err)
		}
		if tag.RowsAffected() == 0 || len(changes) == 0 {
			return nil // no longer live at that version, or nothing to record
		}
		if _, err := db.event(ctx, tx, Event{RequestID: id, Version: version, Actor: "drift-check", Kind: EventDrift,
			Data: map[string]any{"changes": changes}}, now); err != nil {
			return err
		}
		if repaired {
			_, err := db.event(ctx, tx, Event{RequestID: id, Version: version, Actor: "drift-check", Kind: EventDriftRepaired,
				Data: map[string]any{"changes": changes}}, now)
			return err
		}
		return nil
	})
}

// LiveWork returns the live version's work of each role liveSQL selects
// (active, or with a change pending or failed) with id above afterID, up
// to limit, for drift checks.
func (db *DB) LiveWork(ctx context.Context, afterID int64, limit int) ([]Work, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, live_version FROM requests
		WHERE `+liveSQL+` AND id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, interpret(err)
	}
	type live struct {
		id      int64
		version int
	}
	var all []live
	for rows.Next() {
		var l live
		if err := rows.Scan(&l.id, &l.version); err != nil {
			rows.Close()
			return nil, interpret(err)
		}
		all = append(all, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, interpret(err)
	}
	if len(all) == 0 {
		return nil, nil
	}
	// Every role's reads in one round trip: a drift check over 10,000
	// roles is 100 pages, not 20,000 round trips.
	out := make([]Work, len(all))
	b := &pgx.Batch{}
	for i, l := range all {
		queueWork(b, l.id, l.version, &out[i])
	}
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, interpret(err)
	}
	return out, nil
}

// ListLiveRoles returns the requests with id above afterID, up to limit,
// whose live version is in IAM and not being removed: active, or with a
// change pending, approved, being provisioned or failed (the live version
// stays in IAM meanwhile). export-terraform writes the stored Terraform of
// each one's LiveVersion.
func (db *DB) ListLiveRoles(ctx context.Context, afterID int64, limit int) ([]Request, error) {
	return queryAll(ctx, db.pool, scanRequest, `SELECT `+requestColumns+requestFrom+`
		WHERE r.id IN (SELECT id FROM requests WHERE `+expirableSQL+` AND id > $1)
		ORDER BY r.id LIMIT $2`, afterID, limit)
}

// orphanedReason is what a request whose job was lost says of itself.
const orphanedReason = "its job ended without finishing (the worker stopped, or lost the database, during its last attempt); retry it"

// FailOrphaned fails the requests waiting on a job that no longer runs
// and never will: approved or provisioning without a provision job of
// their version still to run, revoking without a revoke job still to
// run. River discards a job whose last attempt a dead worker left behind,
// and a job whose last attempt could not reach the database cannot
// record the failure itself; nothing else would ever move such a
// request. Failed, an admin can retry it, or revoke it again. It returns
// how many requests it failed.
func (db *DB) FailOrphaned(ctx context.Context) (int, error) {
	type orphan struct {
		id      int64
		version int
		status  Status
	}
	rows, err := db.pool.Query(ctx, `
		SELECT r.id, r.version, r.status FROM requests r
		WHERE r.status IN ('approved', 'provisioning', 'revoking')
		  AND NOT EXISTS (SELECT 1 FROM river_job j
		      WHERE j.state NOT IN ('completed', 'cancelled', 'discarded')
		        AND CASE WHEN r.status = 'revoking'
		                 THEN j.kind = 'revoke' AND j.args @> jsonb_build_object('request_id', r.id)
		                 ELSE j.kind = 'provision' AND j.args @> jsonb_build_object('request_id', r.id, 'version', r.version) END)
		ORDER BY r.id`)
	if err != nil {
		return 0, interpret(err)
	}
	orphans, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (orphan, error) {
		var o orphan
		err := row.Scan(&o.id, &o.version, &o.status)
		return o, err
	})
	if err != nil {
		return 0, interpret(err)
	}
	failed := 0
	for _, o := range orphans {
		if o.status == StatusRevoking {
			err = db.FailRevocation(ctx, o.id, orphanedReason)
		} else {
			err = db.FailProvisioning(ctx, o.id, o.version, orphanedReason)
		}
		switch {
		case errors.Is(err, ErrConflict):
			// It moved on meanwhile.
		case err != nil:
			return failed, err
		default:
			failed++
		}
	}
	return failed, nil
}
