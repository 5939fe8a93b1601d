package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rolegate/rolegate/provision"
)

// Work is what the plan of one request version is built from (PlanOf).
type Work struct {
	Request    Request
	Version    int
	Spec       provision.RoleSpec
	Approvers  []string
	ApprovedAt time.Time
	TTL        time.Duration
}

// Step is one resource the reconciler created, updated or left unchanged.
type Step struct {
	Resource string   `json:"resource"`
	Name     string   `json:"name"`
	ARN      string   `json:"arn,omitempty"`
	Outcome  string   `json:"outcome"`
	Changes  []string `json:"changes,omitempty"`
}

// ProvisionResult is what a successful provisioning run hands back.
type ProvisionResult struct {
	RoleARN            string
	InstanceProfileARN string
	Terraform          []byte
	Steps              []Step
	Waited             time.Duration
}

func (db *DB) work(ctx context.Context, id int64, version int) (Work, error) {
	r, versions, err := db.requestAndVersions(ctx, id)
	if err != nil {
		return Work{}, err
	}
	return workOf(r, versions, version)
}

// workOf is the Work of version of r, one of versions.
func workOf(r Request, versions []Version, version int) (Work, error) {
	for _, v := range versions {
		if v.Number == version {
			return WorkOf(r, v), nil
		}
	}
	return Work{}, errorf(KindNotFound, "request %d has no version %d", r.ID, version)
}

// BeginProvisioning marks version of request id as provisioning and
// returns what to build. A job that runs again after a crash finds the
// request still provisioning and resumes. It fixes the name and path of
// the request's role in IAM (fixRoleName) if its approval did not (one
// approved before approvals recorded them). It returns
// ErrConflict when the request has moved on (cancelled, a newer version,
// revoked): the job is stale and does nothing; and ErrRepairRunning while
// a drift repair of the request that began before the version was
// approved is writing (Repair): the job waits for it, so the repair does
// not undo what the job writes.
func (db *DB) BeginProvisioning(ctx context.Context, id int64, version int) (w Work, err error) {
	now := db.now().UTC()
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		var was Status
		err := tx.QueryRow(ctx, `SELECT status FROM requests WHERE id = $1 AND version = $2 FOR UPDATE`, id, version).Scan(&was)
		if err != nil {
			if err == pgx.ErrNoRows {
				return errorf(KindConflict, "request %d is not at version %d", id, version)
			}
			return interpret(err)
		}
		// Taken in the transaction, the repair lock is held until the
		// request is provisioning: a repair that begins after finds it not
		// live (liveSQL) and writes nothing.
		if err := repairRunning(ctx, tx, id); err != nil {
			return err
		}
		var events []Event
		b := &pgx.Batch{}
		switch was {
		case StatusProvisioning: // resumed: read what to build
		case StatusApproved:
			queueSetStatus(b, id, StatusApproved, StatusProvisioning, "", now)
			events = append(events, Event{RequestID: id, Version: version, Actor: "worker", Kind: EventProvisionStarted})
		default:
			return errorf(KindConflict, "request %d is %s, not approved", id, was)
		}
		// The reads go after the events, in the same round trip.
		queueWork(b, id, version, &w)
		if err := db.sendEvents(ctx, tx, b, events, now); err != nil {
			return err
		}
		return db.fixRoleName(ctx, tx, &w)
	})
	return w, err
}

// fixRoleName records, in tx and with w's request locked, the role ARN of
// w's plan under today's settings when nothing fixes its name and path
// yet (no live role, none planned before): when the request is approved
// (the name its approvers saw), else (a request approved before names
// were recorded then) at its first provisioning, before any IAM write.
// Every later plan of the request keeps that name and path (PlanOf), so
// an approved role is created under the name it was approved with, a
// role created by an attempt that did not finish is the one a retry
// after a change of the name prefix or role path completes, and the one
// a revocation removes. A plan that fails is not recorded: the worker
// fails the request on the same error without writing to IAM, and a
// retry records then.
func (db *DB) fixRoleName(ctx context.Context, tx pgx.Tx, w *Work) error {
	if w.Request.KeptRoleARN() != "" {
		return nil
	}
	plan, err := PlanOf(*w, db.settings)
	if err != nil {
		return nil
	}
	arn := plan.RoleARN()
	if _, err := tx.Exec(ctx, `UPDATE requests SET planned_role_arn = $2
		WHERE id = $1 AND role_arn IS NULL AND planned_role_arn IS NULL`, w.Request.ID, arn); err != nil {
		return interpret(err)
	}
	w.Request.PlannedRoleARN = arn
	return nil
}

// queueWork queues on b the reads of version of request id, and sets *w
// to its Work when the batch runs (its error is the batch's).
func queueWork(b *pgx.Batch, id int64, version int, w *Work) {
	var r Request
	b.Queue(requestSQL, id).QueryRow(func(row pgx.Row) (err error) {
		r, err = scanRequest(row)
		return err
	})
	b.Queue(versionsSQL, id).Query(func(rows pgx.Rows) error {
		versions, err := scanVersions(rows)
		if err == nil {
			*w, err = workOf(r, versions, version)
		}
		return err
	})
}

// StillProvisioning returns nil while request id is provisioning version,
// and ErrConflict once it has moved on (revoked or expired meanwhile): the
// provisioning job asks before each IAM write and stops, so it does not
// create again what a revocation is about to remove.
func (db *DB) StillProvisioning(ctx context.Context, id int64, version int) error {
	var ok bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM requests
		WHERE id = $1 AND version = $2 AND status = 'provisioning')`, id, version).Scan(&ok)
	if err != nil {
		return interpret(err)
	}
	if !ok {
		return errorf(KindConflict, "request %d is no longer provisioning version %d", id, version)
	}
	return nil
}

// CompleteProvisioning records each step as an audit event, stores the
// version's Terraform with its SHA-256 (immutable from then on), and moves
// the request to active. A version that asks for an expiry (or removes
// one) starts its lifetime now; a change that keeps the expiry in force
// keeps it exactly, shortened only by an approver. It returns ErrConflict
// when the request is no longer provisioning that version. The worker
// needs nothing back; a caller that wants the active request reads it.
// Everything after the read of the version goes in one round trip: at
// high worker concurrency the store's share of a job is its round trips,
// not its statements.
func (db *DB) CompleteProvisioning(ctx context.Context, id int64, version int, res ProvisionResult) error {
	now := db.now().UTC()
	sum := sha256.Sum256(res.Terraform)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var (
			keeps            bool
			approved, asked  *int64
			inForce, expires *time.Time
		)
		var byRule bool
		if err := tx.QueryRow(ctx, `SELECT v.keeps_expiry, v.approved_ttl_seconds, v.requested_ttl_seconds, r.expires_at,
				EXISTS (SELECT 1 FROM decisions d WHERE d.request_id = v.request_id AND d.version = v.version AND d.rule IS NOT NULL)
			FROM request_versions v JOIN requests r ON r.id = v.request_id
			WHERE v.request_id = $1 AND v.version = $2`, id, version).Scan(&keeps, &approved, &asked, &inForce, &byRule); err != nil {
			return interpret(err)
		}
		ttl := asked
		if keeps {
			expires, ttl = inForce, nil
		}
		if approved != nil {
			ttl = approved
		}
		if ttl != nil {
			if t := afterSeconds(now, *ttl); expires == nil || t.Before(*expires) {
				expires = &t
			}
		}
		// A change the no-new-access rule approved asked for an expiry no
		// later than the one in force; its lifetime, counted from now, must
		// not carry it past that either.
		if byRule && inForce != nil && (expires == nil || expires.After(*inForce)) {
			expires = inForce
		}
		// A reminder already sent about an expiry that stays holds. The
		// first activation begins the access review cycle; a change going
		// live keeps the cycle it is in (the owner's last confirmation
		// covers the role, changed or not, until the next review).
		b := &pgx.Batch{}
		b.Queue(`UPDATE requests SET status = 'active', status_reason = '', role_arn = $3,
				instance_profile_arn = $4, live_version = $2, activated_at = $5, expires_at = $6,
				drifted = false, updated_at = $5, review_from = coalesce(review_from, $5),
				reminded_at = CASE WHEN expires_at IS NOT DISTINCT FROM $6 THEN reminded_at END
			WHERE id = $1 AND version = $2 AND status = 'provisioning'`,
			id, version, res.RoleARN, res.InstanceProfileARN, now, expires).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != 1 {
				return errorf(KindConflict, "request %d is no longer provisioning version %d", id, version)
			}
			return nil
		})
		b.Queue(`UPDATE request_versions SET terraform = $3, terraform_sha256 = $4
			WHERE request_id = $1 AND version = $2 AND terraform IS NULL`,
			id, version, string(res.Terraform), hex.EncodeToString(sum[:]))
		events := make([]Event, 0, len(res.Steps)+1)
		for _, s := range res.Steps {
			events = append(events, Event{RequestID: id, Version: version, Actor: "worker", Kind: EventProvisionStep,
				Data: map[string]any{"resource": s.Resource, "name": s.Name, "arn": s.ARN, "outcome": s.Outcome, "changes": s.Changes}})
		}
		data := map[string]any{"role_arn": res.RoleARN, "instance_profile_arn": res.InstanceProfileARN,
			"terraform_sha256": hex.EncodeToString(sum[:]), "waited_seconds": res.Waited.Seconds()}
		if expires != nil {
			data["expires_at"] = expires.Format(time.RFC3339)
		}
		events = append(events, Event{RequestID: id, Version: version, Actor: "worker", Kind: EventActive, Data: data})
		return db.sendEvents(ctx, tx, b, events, now)
	})
}

// FailProvisioning moves a provisioning (or approved) request to failed
// with IAM's or the validator's reason. It returns ErrConflict when the
// request is in neither state.
func (db *DB) FailProvisioning(ctx context.Context, id int64, version int, reason string) error {
	now := db.now().UTC()
	reason = truncate(reason, 4000)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE requests SET status = 'failed', status_reason = $3, updated_at = $4
			WHERE id = $1 AND version = $2 AND status IN ('approved', 'provisioning')`, id, version, reason, now)
		if err != nil {
			return interpret(err)
		}
		if tag.RowsAffected() != 1 {
			return errorf(KindConflict, "request %d is not provisioning version %d", id, version)
		}
		_, err = db.event(ctx, tx, Event{RequestID: id, Version: version, Actor: "worker", Kind: EventFailed,
			Data: map[string]any{"reason": reason, "stage": "provision"}}, now)
		return err
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
