package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store/jobargs"
)

// Decision is an approver's verdict on one request version.
type Decision struct {
	Approve bool
	Comment string
	// ExpiresAt, when set on an approval, shortens the expiry the requester
	// asked for; it may not lengthen it.
	ExpiresAt *time.Time
}

// NewVersion is a change to an active role: a new spec (same role name)
// and why.
type NewVersion struct {
	Spec          provision.RoleSpec
	Justification string
	// Idempotency is the claimed API Idempotency-Key, as in NewRequest.
	Idempotency *IdempotencyKey
}

// stateError explains a refused transition; it wraps ErrConflict.
func stateError(r Request, want string) error {
	return errorf(KindConflict, "request %d is %s, so it cannot %s", r.ID, r.Status, want)
}

// lockRequest reads a request and locks its row until tx ends, so the
// checks below and the guarded UPDATE see the same state.
func lockRequest(ctx context.Context, tx pgx.Tx, id int64) (Request, error) {
	return scanRequest(tx.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+` WHERE r.id = $1 FOR UPDATE OF r`, id))
}

// guard says who may take a step on a request (may, else ErrForbidden
// saying forbidden) and in which states (allowed, else ErrConflict: the
// request cannot <cannot>).
type guard struct {
	may       func(Request) bool
	forbidden string
	allowed   func(Request) bool
	cannot    string
}

// takeStep locks request id, checks g in that order, runs f in the same
// transaction with the request as locked and the time of the step, and
// returns the request as it is afterwards. It returns the first error.
func (db *DB) takeStep(ctx context.Context, id int64, g guard, f func(tx pgx.Tx, r Request, now time.Time) error) (Request, error) {
	now := db.now().UTC()
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		r, err := lockRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		if !g.may(r) {
			return errorf(KindForbidden, "%s", g.forbidden)
		}
		if !g.allowed(r) {
			return stateError(r, g.cannot)
		}
		return f(tx, r, now)
	})
	if err != nil {
		return Request{}, err
	}
	return db.GetRequest(ctx, id)
}

// inStatus is the state check of a step taken only in status s.
func inStatus(s Status) func(Request) bool {
	return func(r Request) bool { return r.Status == s }
}

// requested is the check of a step only the requester of r may take.
func (a Actor) requested(r Request) bool { return a.Name == r.Requester }

// setStatus moves a request from one state to another, guarded in SQL: it
// returns ErrConflict when the request is no longer in state from.
func setStatus(ctx context.Context, tx pgx.Tx, id int64, from, to Status, reason string, now time.Time) error {
	tag, err := tx.Exec(ctx, setStatusSQL, id, from, to, reason, now)
	if err != nil {
		return interpret(err)
	}
	return statusSet(tag, id, from)
}

// queueSetStatus is setStatus as a statement of batch b.
func queueSetStatus(b *pgx.Batch, id int64, from, to Status, reason string, now time.Time) {
	b.Queue(setStatusSQL, id, from, to, reason, now).Exec(func(tag pgconn.CommandTag) error {
		return statusSet(tag, id, from)
	})
}

const setStatusSQL = `UPDATE requests SET status = $3, status_reason = $4, updated_at = $5
		WHERE id = $1 AND status = $2`

func statusSet(tag pgconn.CommandTag, id int64, from Status) error {
	if tag.RowsAffected() != 1 {
		return errorf(KindConflict, "request %d is no longer %s", id, from)
	}
	return nil
}

// validateSpec checks spec and justification with the store's settings,
// returning every problem at once as a *provision.ValidationError.
func (db *DB) validateSpec(spec provision.RoleSpec, justification string) error {
	return ValidateRequest(db.settings, spec, justification)
}

// ValidateRequest checks a spec and its justification under the settings
// set, as creating a request and asking for a change do, returning every
// problem at once as a *provision.ValidationError; the pages call it to
// report them with a form's own problems.
func ValidateRequest(set provision.Settings, spec provision.RoleSpec, justification string) error {
	var problems []provision.FieldError
	var verr *provision.ValidationError
	if err := spec.Validate(set); errors.As(err, &verr) {
		problems = append(problems, verr.Problems...)
	} else if err != nil {
		return err
	}
	switch j := strings.TrimSpace(justification); {
	case j == "":
		problems = append(problems, provision.FieldError{Field: "justification", Message: "say why the role is needed: approvers decide on it"})
	case len(justification) > 4000:
		problems = append(problems, provision.FieldError{Field: "justification", Message: "justification must be at most 4000 characters"})
	}
	if p := provision.FreeTextFault("justification", justification); p != "" {
		problems = append(problems, provision.FieldError{Field: "justification", Message: p})
	}
	if len(problems) > 0 {
		return &provision.ValidationError{Problems: problems}
	}
	return nil
}

// MaxDecisionComment is the longest comment a decision keeps, in bytes.
const MaxDecisionComment = 4000

// DecisionCommentFault returns what is wrong with an approver's comment,
// in words that start with field (the comment as the reader calls it:
// "the comment" on the pages and in the store's errors, "comment" in the
// API, whose problems stand at the field of that name), or "" when it may
// be kept: at most MaxDecisionComment bytes, under the free-text rule
// (provision.FreeTextFault). Decide refuses such a comment (ErrInvalid);
// the pages and the API say the same at the field before they ask.
func DecisionCommentFault(field, comment string) string {
	if len(comment) > MaxDecisionComment {
		return fmt.Sprintf("%s is over %d characters", field, MaxDecisionComment)
	}
	return provision.FreeTextFault(field, comment)
}

// Decide records actor's decision on version of request id. A rejection
// rejects the version; the approval that completes the quorum (and the
// routing groups) approves it and enqueues the provisioning job in the
// same transaction. It returns ErrForbidden when actor may not decide (the
// requester never may), ErrConflict when the request is not pending at
// that version or actor has decided already, ErrInvalid for a comment
// DecisionCommentFault refuses, and a *provision.ValidationError at
// expires_at for an expiry in the past, too far ahead or later than the
// one asked for (or, for a change that keeps it, the one in force).
func (db *DB) Decide(ctx context.Context, actor Actor, id int64, version int, d Decision) (Request, error) {
	if p := DecisionCommentFault("the comment", d.Comment); p != "" {
		return Request{}, errorf(KindInvalid, "%s", p)
	}
	now := db.now().UTC()
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		r, err := lockRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		if SamePerson(actor.Name, r.Requester) {
			return errorf(KindForbidden, "you cannot decide on your own request")
		}
		if !db.rules.mayDecide(actor, r) {
			return errorf(KindForbidden, "only approvers (or the data owners of its buckets) decide on requests")
		}
		if r.Status != StatusPending {
			return stateError(r, "be decided")
		}
		if r.Version != version {
			return errorf(KindConflict, "request %d is at version %d, not %d; review the new version", id, r.Version, version)
		}
		// The unique index tells names apart by case; one person decides once.
		if r.DecisionOf(actor.Name) != nil {
			return errorf(KindConflict, "you have already decided on version %d", version)
		}
		verdict, kind := "reject", EventDecisionRejected
		if d.Approve {
			verdict, kind = "approve", EventDecisionApproved
		}
		groups := actor.Groups
		if groups == nil {
			groups = []string{}
		}
		roles := make([]string, 0, len(actor.Roles))
		for _, role := range actor.Roles {
			roles = append(roles, string(role))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO decisions (request_id, version, approver, approver_groups, approver_roles, decision, comment, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, version, actor.Name, groups, roles, verdict, d.Comment, now); err != nil {
			if errors.Is(interpret(err), ErrConflict) {
				return errorf(KindConflict, "you have already decided on version %d", version)
			}
			return interpret(err)
		}
		data := map[string]any{"comment": d.Comment}
		if !d.Approve {
			if _, err := db.event(ctx, tx, Event{RequestID: id, Version: version, Actor: actor.Name, Kind: kind, Data: data}, now); err != nil {
				return err
			}
			return db.rejectVersion(ctx, tx, r, actor, now)
		}
		if d.ExpiresAt != nil {
			if err := db.shortenExpiry(ctx, tx, r, *d.ExpiresAt, now); err != nil {
				return err
			}
			data["expires_at"] = d.ExpiresAt.UTC().Format(time.RFC3339)
		}
		if _, err := db.event(ctx, tx, Event{RequestID: id, Version: version, Actor: actor.Name, Kind: kind, Data: data}, now); err != nil {
			return err
		}
		return db.approveIfComplete(ctx, tx, r, now)
	})
	if err != nil {
		return Request{}, err
	}
	return db.GetRequest(ctx, id)
}

// rejectVersion ends a pending version: a first version is rejected; a
// change to a live role is dropped and the role stays as it is.
func (db *DB) rejectVersion(ctx context.Context, tx pgx.Tx, r Request, actor Actor, now time.Time) error {
	if r.LiveVersion == 0 {
		if err := setStatus(ctx, tx, r.ID, StatusPending, StatusRejected, "rejected by "+actor.Name, now); err != nil {
			return err
		}
		_, err := db.event(ctx, tx, Event{RequestID: r.ID, Version: r.Version, Actor: actor.Name, Kind: EventRejected}, now)
		return err
	}
	if err := setStatus(ctx, tx, r.ID, StatusPending, StatusActive, "change to version "+fmt.Sprint(r.Version)+" rejected by "+actor.Name, now); err != nil {
		return err
	}
	if err := backToLive(ctx, tx, r.ID); err != nil {
		return err
	}
	_, err := db.event(ctx, tx, Event{RequestID: r.ID, Version: r.Version, Actor: actor.Name, Kind: EventChangeRejected}, now)
	return err
}

// backToLive makes the live version current again after a change was
// rejected or cancelled, so the request shows what IAM holds; the dropped
// version stays in the history.
func backToLive(ctx context.Context, tx pgx.Tx, id int64) error {
	_, err := tx.Exec(ctx, `UPDATE requests SET version = live_version WHERE id = $1 AND live_version IS NOT NULL`, id)
	return interpret(err)
}

// shortenExpiry records an approver's shorter expiry on r's current
// version, as a lifetime from now. It may not lengthen what the version
// asked for, nor, for a change that keeps the expiry in force, that
// expiry (r.ExpiresAt). Such an expiry, and one in the past or further
// ahead than provision.MaxExpiryYears, is refused as in a spec, with a
// *provision.ValidationError at expires_at; a lengthened one names the
// expiry it may not pass.
func (db *DB) shortenExpiry(ctx context.Context, tx pgx.Tx, r Request, until time.Time, now time.Time) error {
	// The bound of every expiry asked for holds for an approver's too (a
	// request that asked for none may get one).
	if err := provision.CheckExpiry(until, now); err != nil {
		return err
	}
	var requested *int64
	var keeps bool
	if err := tx.QueryRow(ctx, `SELECT requested_ttl_seconds, keeps_expiry FROM request_versions
		WHERE request_id = $1 AND version = $2`, r.ID, r.Version).Scan(&requested, &keeps); err != nil {
		return interpret(err)
	}
	ttl := int64(until.Sub(now).Seconds())
	if ttl <= 0 {
		return errorf(KindInvalid, "the expiry must be in the future")
	}
	lengthened := func(format string, args ...any) error {
		return &provision.ValidationError{Problems: []provision.FieldError{{Field: "expires_at",
			Message: "approvers may shorten the expiry, not lengthen it " + fmt.Sprintf(format, args...)}}}
	}
	if keeps {
		if r.ExpiresAt != nil && until.After(*r.ExpiresAt) {
			return lengthened("(the role expires at %s and the change keeps that)", r.ExpiresAt.UTC().Format(time.RFC3339))
		}
	} else if requested != nil && ttl > *requested {
		// Named by the time asked for, as the pages offer it: the
		// lifetime it is stored as (a Go duration, 4997h37m53s) told an
		// approver nothing.
		asked := afterSeconds(now, *requested)
		if r.Spec.ExpiresAt != nil {
			asked = *r.Spec.ExpiresAt
		}
		return lengthened("(the request asks for %s)", asked.UTC().Format(time.RFC3339))
	}
	_, err := tx.Exec(ctx, `UPDATE request_versions SET approved_ttl_seconds = least(coalesce(approved_ttl_seconds, $3), $3)
		WHERE request_id = $1 AND version = $2`, r.ID, r.Version, ttl)
	return interpret(err)
}

// approveIfComplete approves the version once its approvals meet the
// rules (ApprovalRules.Progress), and enqueues provisioning in the same
// transaction.
func (db *DB) approveIfComplete(ctx context.Context, tx pgx.Tx, r Request, now time.Time) error {
	var raw []byte
	if err := tx.QueryRow(ctx, `SELECT `+decisionsJSON("$1::bigint", "$2::integer"), r.ID, r.Version).Scan(&raw); err != nil {
		return interpret(err)
	}
	decisions, err := decodeDecisions(raw)
	if err != nil {
		return err
	}
	p := db.rules.Progress(r.Spec, decisions)
	if !p.Complete() {
		return nil
	}
	if err := setStatus(ctx, tx, r.ID, StatusPending, StatusApproved, "", now); err != nil {
		return err
	}
	// The role is named in IAM as its approvers saw it planned: a change
	// of the name prefix or role path before its provisioning begins does
	// not rename it.
	if err := db.fixRoleName(ctx, tx, &Work{Request: r, Spec: r.Spec}); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE request_versions SET approved_at = $3 WHERE request_id = $1 AND version = $2`,
		r.ID, r.Version, now); err != nil {
		return interpret(err)
	}
	if _, err := db.event(ctx, tx, Event{RequestID: r.ID, Version: r.Version, Actor: "rolegate", Kind: EventApproved,
		Data: approvedData(p)}, now); err != nil {
		return err
	}
	return db.enqueue(ctx, tx, jobargs.Provision{RequestID: r.ID, Version: r.Version})
}

// approvedData is what the approved event records of the progress.
func approvedData(p Progress) map[string]any {
	data := map[string]any{"approvers": p.Given, "groups": p.satisfiedGroups()}
	if p.ByRule != "" {
		data["rule"] = p.ByRule
	}
	return data
}

// Cancel withdraws a pending request (or a pending change, leaving the
// live role as it is). Only the requester may; it returns ErrForbidden for
// anyone else and ErrConflict when the request is not pending.
func (db *DB) Cancel(ctx context.Context, actor Actor, id int64) (Request, error) {
	g := guard{may: actor.requested, forbidden: "only the requester can cancel a request",
		allowed: inStatus(StatusPending), cannot: "be cancelled"}
	return db.takeStep(ctx, id, g, func(tx pgx.Tx, r Request, now time.Time) error {
		to, kind, reason := StatusCancelled, EventCancelled, "cancelled by "+actor.Name
		if r.LiveVersion != 0 {
			// The role stays live: the reason says what was cancelled, as
			// a rejected change's does.
			to, kind = StatusActive, EventChangeCancelled
			reason = "change to version " + fmt.Sprint(r.Version) + " cancelled by " + actor.Name
		}
		if err := setStatus(ctx, tx, id, StatusPending, to, reason, now); err != nil {
			return err
		}
		if err := backToLive(ctx, tx, id); err != nil {
			return err
		}
		_, err := db.event(ctx, tx, Event{RequestID: id, Version: r.Version, Actor: actor.Name, Kind: kind}, now)
		return err
	})
}
