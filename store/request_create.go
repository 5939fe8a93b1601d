package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/provision"
)

// NewRequest is what CreateRequest stores. The caller validates Spec first
// (provision validation); the database still refuses impossible values.
type NewRequest struct {
	Spec          provision.RoleSpec
	Justification string
	Requester     string
	// Idempotency is the claimed API Idempotency-Key the request is made
	// under, if any: the write records the request on it in the same
	// transaction, so a retry after a crash can answer with it.
	Idempotency *IdempotencyKey
}

// Created is what CreateRequest wrote: the request, its first version and
// the "submitted" event, exactly as reading them back would return them.
type Created struct {
	Request
	First     Version
	Submitted Event
}

// CreateRequest validates the spec against the settings, then stores a new
// pending request, its first version, its scopes and the "submitted" audit
// event in one transaction, with one statement. It returns what it wrote,
// so callers need not read it back. It returns a *provision.ValidationError
// listing every problem (among them a name that is, in IAM, a role's
// created or approved under an earlier name prefix: see insertRequest), ErrConflict
// when a live request already holds the role name (IAM names are unique
// case-insensitively) and ErrInvalid when the database refuses a value.
func (db *DB) CreateRequest(ctx context.Context, in NewRequest) (Created, error) {
	if strings.TrimSpace(in.Requester) == "" {
		return Created{}, errorf(KindInvalid, "a request needs a requester")
	}
	if err := db.validateSpec(in.Spec, in.Justification); err != nil {
		return Created{}, err
	}
	// Stored by its name, never as "": a later change of the default
	// account does not move the role.
	set, acct, err := db.settings.In(in.Spec.Account)
	if err != nil {
		return Created{}, errorf(KindInvalid, "%v", err)
	}
	in.Spec.Account = acct.Name
	// The database keeps microseconds: the times returned are the stored ones.
	now := dbTime(db.now())
	va, err := newVersionArgs(in, now, false)
	if err != nil {
		return Created{}, err
	}
	w := newRequestWrite{in: in, va: va, now: now, prefix: set.NamePrefix,
		data: map[string]any{"role_name": in.Spec.Name, "account": in.Spec.Account, "buckets": len(in.Spec.Buckets)}}
	recovered, err := db.writeNewRequest(ctx, &w)
	if err != nil {
		return Created{}, err
	}
	if recovered {
		// Rare: a break lost the answer. Return what is stored, not what
		// this call meant to store.
		return db.readCreated(ctx, w.id)
	}
	return w.created(), nil
}

// newRequestWrite is one CreateRequest's write: what it stores, and the
// request and event IDs the database gave it.
type newRequestWrite struct {
	in          NewRequest
	va          versionArgs
	now         time.Time
	prefix      string         // the account's name prefix: the role's name in IAM is it and the spec's name
	data        map[string]any // the submitted event's data
	id, eventID int64
}

// writeNewRequest stores w. Without webhooks it is one statement, retried
// after a broken connection (recovered says the retry found the first
// attempt's write); with them, the webhook deliveries are enqueued with
// the event in one transaction.
func (db *DB) writeNewRequest(ctx context.Context, w *newRequestWrite) (recovered bool, err error) {
	if len(db.webhooks) == 0 {
		err = db.oneStatement(ctx, func(q querier) error { return db.insertRequest(ctx, q, w) },
			func() (bool, error) {
				recovered = true
				return db.findCreated(ctx, w)
			})
		return recovered, err
	}
	return false, db.inTx(ctx, func(tx pgx.Tx) error {
		if err := db.insertRequest(ctx, tx, w); err != nil {
			return err
		}
		return db.notify(ctx, tx, Event{ID: w.eventID, RequestID: w.id, Version: 1, Actor: w.in.Requester,
			Kind: EventSubmitted, Data: w.data, CreatedAt: w.now})
	})
}

// insertRequest writes the request, its first version, its scopes, the
// submitted event and the idempotency key's link in one statement:
// data-modifying CTEs run as one statement, one round trip, atomic on its
// own; foreign keys are checked at its end. It writes nothing, and returns
// the problem at "name", when the role's name in IAM is one that a request
// of another role name keeps (iamNameTakenSQL): its live role's, or the
// one fixed when it was approved, under an earlier name prefix; it
// keeps that name, and provisioning would find the name someone else's
// role.
//
// Two requests racing: the unique index of role names lets only one of
// two requests of one role name in, whatever their case. The IAM name kept
// under another prefix has no index: the check sees the names kept when
// the statement began. A name fixed meanwhile under another prefix than
// this request's is one planned by a rolegate that still runs with the old
// prefix (while the setting changes across instances); so rare a race is
// left to provisioning, which refuses to touch a role of another request
// and fails the later one with that error, as every clash did before this
// check.
func (db *DB) insertRequest(ctx context.Context, q querier, w *newRequestWrite) error {
	var keyUser, keyName *string // no key: the UPDATE matches nothing
	if k := w.in.Idempotency; k != nil {
		keyUser, keyName = &k.User, &k.Key
	}
	args := w.va.named(w.in, w.now)
	args["kind"], args["data"] = EventSubmitted, w.data
	args["key_user"], args["key"] = keyUser, keyName
	args["iam_name"] = w.prefix + w.in.Spec.Name
	var takenBy int64
	err := q.QueryRow(ctx, `
		WITH taken AS (`+iamNameTakenSQL+`),
		r AS (
			INSERT INTO requests (account, role_name, requester, status, version, created_at, updated_at)
			SELECT @account, @role_name, @actor, 'pending', 1, @now, @now
			WHERE NOT EXISTS (SELECT FROM taken)
			RETURNING id, version),`+versionCTEs+`,
		e AS (
			INSERT INTO audit_events (request_id, version, actor, kind, data, created_at)
			SELECT r.id, 1, @actor, @kind, @data, @now FROM r
			RETURNING id),
		k AS (
			UPDATE idempotency_keys SET request_id = r.id FROM r
			WHERE user_name = @key_user::text AND key = @key::text AND status IS NULL)
		SELECT r.id, e.id, 0::bigint FROM r, e
		UNION ALL SELECT 0, 0, id FROM taken`, args).Scan(&w.id, &w.eventID, &takenBy)
	if err == nil && takenBy != 0 {
		return &provision.ValidationError{Problems: []provision.FieldError{{Field: "name",
			Message: db.iamNameTaken(w.in.Spec.Account, w.prefix, w.in.Spec.Name)}}}
	}
	if err == nil || unavailable(err) { // a broken connection is the runner's to judge
		return err
	}
	err = interpret(err)
	if violated(err, "requests_live_role_name") {
		spec := w.in.Spec
		if len(db.settings.Accounts) > 1 {
			return errorf(KindConflict, "a role named %q is already requested or live in account %s", spec.Name, spec.Account)
		}
		return errorf(KindConflict, "a role named %q is already requested or live", spec.Name)
	}
	return err
}

// findCreated reports whether w's request is stored, and sets its IDs if
// so: the request carries its requester and creation time to the
// microsecond, so finding it tells an interrupted statement committed.
func (db *DB) findCreated(ctx context.Context, w *newRequestWrite) (bool, error) {
	err := db.pool.QueryRow(ctx, `
		SELECT r.id, e.id FROM requests r
		JOIN audit_events e ON e.request_id = r.id AND e.version = 1 AND e.kind = $4
		WHERE lower(r.role_name COLLATE "C") = lower($1 COLLATE "C") AND r.requester = $2 AND r.created_at = $3`,
		w.in.Spec.Name, w.in.Requester, w.now, EventSubmitted).Scan(&w.id, &w.eventID)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// created is what w wrote, as reading it back would return it.
func (w *newRequestWrite) created() Created {
	in, now := w.in, w.now
	spec := w.va.spec
	return Created{
		Request: Request{ID: w.id, Requester: in.Requester, Status: StatusPending, Version: 1, Spec: spec,
			Justification: in.Justification, CreatedAt: now, UpdatedAt: now},
		First: Version{Number: 1, Spec: spec, Justification: in.Justification, CreatedBy: in.Requester,
			CreatedAt: now, TTL: secondsDuration(w.va.ttlSeconds())},
		Submitted: Event{ID: w.eventID, RequestID: w.id, Version: 1, Actor: in.Requester, Kind: EventSubmitted,
			Data: w.data, CreatedAt: now, Account: spec.Account},
	}
}

// readCreated reads back what CreateRequest wrote for request id.
func (db *DB) readCreated(ctx context.Context, id int64) (Created, error) {
	r, versions, err := db.requestAndVersions(ctx, id)
	if err != nil {
		return Created{}, err
	}
	events, err := db.ListEvents(ctx, EventFilter{RequestID: id, Kind: EventSubmitted, Limit: 1})
	if err != nil {
		return Created{}, err
	}
	if len(versions) == 0 || len(events) == 0 {
		return Created{}, errorf(KindNotFound, "request %d has no first version or submitted event", id)
	}
	return Created{Request: r, First: versions[0], Submitted: events[0]}, nil
}
