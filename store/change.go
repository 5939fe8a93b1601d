package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store/jobargs"
)

// RequestChange asks for a new version of an active role (other scopes,
// description, managed policies, or a new expiry as an extension). The
// version goes through approval again; the role keeps its current
// permissions until the new version is provisioned. A spec with the live
// version's expires_at (or, like it, none) keeps the expiry in force;
// another one, or none where one was asked, is shown in the diff against
// the expiry in force and replaces it. Only the requester may; the role
// name cannot change; asking needs the requester role, as for a new
// request. It returns ErrForbidden, ErrConflict when the
// request is not active, and *provision.ValidationError.
func (db *DB) RequestChange(ctx context.Context, actor Actor, id int64, nv NewVersion) (Request, error) {
	if !actor.Has(RoleRequester) {
		return Request{}, errorf(KindForbidden, "asking for a change needs the requester role, as asking for a role does")
	}
	g := guard{may: actor.requested, forbidden: "only the requester can change a role",
		allowed: inStatus(StatusActive), cannot: "be changed (only active roles can)"}
	return db.takeStep(ctx, id, g, func(tx pgx.Tx, r Request, now time.Time) error {
		if nv.Spec.Name != r.Spec.Name {
			return &provision.ValidationError{Problems: []provision.FieldError{{Field: "name",
				Message: fmt.Sprintf("the role name cannot change (it is %q); request a new role instead", r.Spec.Name)}}}
		}
		// A change names the role's account or none (it stays there).
		if nv.Spec.Account == "" {
			nv.Spec.Account = r.Spec.Account
		}
		if nv.Spec.Account != r.Spec.Account {
			msg := fmt.Sprintf("a role cannot move to another account (it is in %s); file a new request there", r.Spec.Account)
			if _, known := db.settings.Account(nv.Spec.Account); !known {
				msg = fmt.Sprintf("there is no account named %q, and a role cannot move to another account (it is in %s)", nv.Spec.Account, r.Spec.Account)
			}
			return &provision.ValidationError{Problems: []provision.FieldError{{Field: "account", Message: msg}}}
		}
		// Approvers judge the change against what is live in IAM, not
		// against the current version, which may be a rejected or
		// cancelled change; its expiry against the expiry in force.
		live, err := specOf(ctx, tx, id, r.LiveVersion)
		if err != nil {
			return err
		}
		keeps := expiryKept(live.ExpiresAt, nv.Spec.ExpiresAt)
		check := nv.Spec
		if keeps {
			// A kept expiry asks for nothing new: it was judged when it was
			// asked for, by the rules of then (one more than 10 years out
			// from before that bound, or one now past as the role went live
			// later than asked and its lifetime runs from then).
			check.ExpiresAt = nil
		}
		// The role keeps the name and path it has in IAM, whatever the
		// name prefix is now (PlanOf plans it so).
		if err := ValidateRequest(db.settings.Keeping(r.Spec.Account, r.Spec.Name, r.RoleARN), check, nv.Justification); err != nil {
			return err
		}
		// Versions are numbered after every earlier one, rejected and
		// cancelled changes included.
		var next int
		if err := tx.QueryRow(ctx, `SELECT max(version) + 1 FROM request_versions WHERE request_id = $1`, id).Scan(&next); err != nil {
			return interpret(err)
		}
		if err := insertVersion(ctx, tx, id, next, NewRequest{Spec: nv.Spec, Justification: nv.Justification, Requester: actor.Name}, keeps, now); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE requests SET version = $2, status = 'pending', status_reason = '', updated_at = $3
			WHERE id = $1 AND status = 'active'`, id, next, now)
		if err != nil {
			return interpret(err)
		}
		if tag.RowsAffected() != 1 {
			return stateError(r, "be changed")
		}
		if err := linkIdempotencyKey(ctx, tx, nv.Idempotency, id); err != nil {
			return err
		}
		data := map[string]any{"account": r.Spec.Account, "diff": changeDiff(live, r.ExpiresAt, nv.Spec).Lines(), "policy_diff": PolicyDiff(live, nv.Spec, r.RoleARN, db.settings)}
		// The live spec may no longer pass today's guardrails: the change is
		// then judged by people alone.
		lp, np, planErr := db.changePlans(id, r.RoleARN, live, r.ExpiresAt, nv.Spec, keeps)
		var verdict provision.Narrowing
		if planErr == nil {
			verdict = provision.NoNewAccess(lp, np)
			data["access_change"] = provision.DiffAccess(lp, np).Text()
			data["no_new_access"] = verdict.NoNewAccess
		}
		if _, err := db.event(ctx, tx, Event{RequestID: id, Version: next, Actor: actor.Name, Kind: EventChangeSubmitted, Data: data}, now); err != nil {
			return err
		}
		if verdict.NoNewAccess && db.rules.AutoApproveNarrowing {
			return db.approveByRule(ctx, tx, Request{ID: id, Version: next, Spec: nv.Spec, RoleARN: r.RoleARN}, verdict, now)
		}
		return nil
	})
}

// ruleActor is the actor of what rolegate's rules do, in decisions and
// the audit trail.
const ruleActor = "rolegate"

// approveByRule records the no-new-access rule's approval of version
// r.Version (a change just submitted in tx, found to grant nothing the
// live version does not), with the reasons in the audit trail, and lets
// the approval rules (Progress) approve it and enqueue provisioning. The
// decision holds no person's roles or groups: only the rule counts it.
func (db *DB) approveByRule(ctx context.Context, tx pgx.Tx, r Request, verdict provision.Narrowing, now time.Time) error {
	comment := "approved by the " + RuleNoNewAccess + " rule: the change grants nothing the live version does not"
	if _, err := tx.Exec(ctx, `INSERT INTO decisions (request_id, version, approver, approver_groups, approver_roles, decision, comment, created_at, rule)
		VALUES ($1, $2, $3, '{}', '{}', 'approve', $4, $5, $6)`, r.ID, r.Version, ruleActor, comment, now, RuleNoNewAccess); err != nil {
		return interpret(err)
	}
	if _, err := db.event(ctx, tx, Event{RequestID: r.ID, Version: r.Version, Actor: ruleActor, Kind: EventDecisionApproved,
		Data: map[string]any{"comment": comment, "rule": RuleNoNewAccess, "reasons": verdict.Reasons}}, now); err != nil {
		return err
	}
	return db.approveIfComplete(ctx, tx, r, now)
}

// specOf reads the spec of one version of request id.
func specOf(ctx context.Context, q querier, id int64, version int) (provision.RoleSpec, error) {
	_, spec, err := scanSpec(q.QueryRow(ctx, specSelect+` WHERE v.request_id = $1 AND v.version = $2`, id, version))
	return spec, err
}

// specSelect selects a request ID and the spec of a version v of it, for
// scanSpec; the caller adds the WHERE clause.
var specSelect = `
	SELECT v.request_id, v.version, ` + specColumns + `
	FROM request_versions v JOIN requests r ON r.id = v.request_id`

// scanSpec reads one row of specSelect.
func scanSpec(row pgx.Row) (int64, provision.RoleSpec, error) {
	var (
		id      int64
		version int
		scan    specScan
		spec    provision.RoleSpec
	)
	if err := row.Scan(scan.scanWith(&id, &version)...); err != nil {
		return 0, provision.RoleSpec{}, interpret(err)
	}
	if err := scan.decode(&spec); err != nil {
		return 0, provision.RoleSpec{}, fmt.Errorf("request %d version %d: %w", id, version, err)
	}
	return id, spec, nil
}

// Revoke removes a role from IAM, in every state in which something of it
// may exist there (see revocable): an active role, one with a change
// pending, approved, being provisioned or failed (the change is
// superseded), and a failed or unfinished first provisioning (whatever it
// created is removed and the name is freed). The owner or an admin may.
// The request moves to revoking and a job destroys its IAM resources once
// no provisioning job of the request is still running. It returns
// ErrForbidden, and ErrConflict when nothing of the request can be in IAM
// (pending first version, ended) or it is being revoked already.
func (db *DB) Revoke(ctx context.Context, actor Actor, id int64) (Request, error) {
	g := guard{may: func(r Request) bool { return actor.requested(r) || actor.Has(RoleAdmin) },
		forbidden: "only the requester or an admin can revoke a role",
		allowed:   revocable, cannot: "be revoked (nothing of it is in IAM)"}
	return db.takeStep(ctx, id, g, func(tx pgx.Tx, r Request, now time.Time) error {
		return db.beginRevoke(ctx, tx, r, actor.Name, StatusRevoked, now)
	})
}

// beginRevoke moves r (locked by the caller) to revoking and enqueues the
// revocation job, in tx. A version that is not live (a pending, approved,
// provisioning or failed change, or a first version that never went live)
// is superseded, and the audit trail says so. A failed revocation keeps
// the final state it was started for.
func (db *DB) beginRevoke(ctx context.Context, tx pgx.Tx, r Request, actor string, final Status, now time.Time) error {
	var wasFinal *string
	if err := tx.QueryRow(ctx, `SELECT final_status FROM requests WHERE id = $1`, r.ID).Scan(&wasFinal); err != nil {
		return interpret(err)
	}
	var target int
	err := tx.QueryRow(ctx, `UPDATE requests SET status = 'revoking', final_status = coalesce(final_status, $3),
			status_reason = '', updated_at = $4, version = coalesce(live_version, version)
		WHERE id = $1 AND status = $2 RETURNING version, final_status`, r.ID, r.Status, final, now).Scan(&target, &final)
	if err == pgx.ErrNoRows {
		return stateError(r, "be revoked")
	}
	if err != nil {
		return interpret(err)
	}
	// What the revocation overrides: a version on its way to IAM (or
	// stopped on the way) that will now never be live.
	inFlight := r.Status == StatusApproved || r.Status == StatusProvisioning || r.Status == StatusFailed ||
		r.Version != target || r.LiveVersion == 0
	if inFlight && wasFinal == nil {
		if _, err := db.event(ctx, tx, Event{RequestID: r.ID, Version: r.Version, Actor: actor, Kind: EventSuperseded,
			Data: map[string]any{"status": string(r.Status), "final_status": string(final)}}, now); err != nil {
			return err
		}
	}
	if _, err := db.event(ctx, tx, Event{RequestID: r.ID, Version: target, Actor: actor, Kind: EventRevokeRequested,
		Data: map[string]any{"final_status": string(final)}}, now); err != nil {
		return err
	}
	// Each start of a revocation (a retry, or a revoke after a failed one)
	// is numbered by the starts before it, so River's uniqueness never
	// swallows its job as a duplicate of an earlier one.
	var attempt int
	if err := tx.QueryRow(ctx, `SELECT count(*) - 1 FROM audit_events WHERE request_id = $1 AND kind = $2`,
		r.ID, EventRevokeRequested).Scan(&attempt); err != nil {
		return interpret(err)
	}
	return db.enqueue(ctx, tx, jobargs.Revoke{RequestID: r.ID, Attempt: attempt})
}

// retries numbers a job by the admin retries before it, so a retry's job
// is new to River's uniqueness while duplicates of one attempt are not.
func retries(ctx context.Context, tx pgx.Tx, id int64) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE request_id = $1 AND kind = $2`, id, EventRetried).Scan(&n)
	return n, interpret(err)
}

// Retry runs a failed request's last step again: provisioning, or the
// revocation that failed. Admins only; it returns ErrForbidden and
// ErrConflict when the request has not failed.
func (db *DB) Retry(ctx context.Context, actor Actor, id int64) (Request, error) {
	g := guard{may: func(Request) bool { return actor.Has(RoleAdmin) }, forbidden: "only admins can retry",
		allowed: inStatus(StatusFailed), cannot: "be retried (only failed requests can)"}
	return db.takeStep(ctx, id, g, func(tx pgx.Tx, r Request, now time.Time) error {
		if _, err := db.event(ctx, tx, Event{RequestID: id, Version: r.Version, Actor: actor.Name, Kind: EventRetried}, now); err != nil {
			return err
		}
		var final *string
		if err := tx.QueryRow(ctx, `SELECT final_status FROM requests WHERE id = $1`, id).Scan(&final); err != nil {
			return interpret(err)
		}
		if final != nil {
			return db.beginRevoke(ctx, tx, r, actor.Name, Status(*final), now)
		}
		if err := setStatus(ctx, tx, id, StatusFailed, StatusApproved, "", now); err != nil {
			return err
		}
		attempt, err := retries(ctx, tx, id)
		if err != nil {
			return err
		}
		return db.enqueue(ctx, tx, jobargs.Provision{RequestID: id, Version: r.Version, Attempt: attempt})
	})
}
