package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/provision"
)

// Status is where a request is in its lifecycle.
type Status string

// The lifecycle states. The database refuses any other value.
const (
	StatusPending      Status = "pending"
	StatusApproved     Status = "approved"
	StatusProvisioning Status = "provisioning"
	StatusActive       Status = "active"
	StatusRejected     Status = "rejected"
	StatusCancelled    Status = "cancelled"
	StatusFailed       Status = "failed"
	StatusRevoking     Status = "revoking"
	StatusRevoked      Status = "revoked"
	StatusExpired      Status = "expired"
)

// Statuses lists every state in lifecycle order.
func Statuses() []Status {
	return []Status{StatusPending, StatusApproved, StatusProvisioning, StatusActive, StatusRejected,
		StatusCancelled, StatusFailed, StatusRevoking, StatusRevoked, StatusExpired}
}

// Valid reports whether s is one of the lifecycle states.
func (s Status) Valid() bool {
	for _, v := range Statuses() {
		if v == s {
			return true
		}
	}
	return false
}

// Request is a role request at its current version.
type Request struct {
	ID                 int64
	Requester          string
	Status             Status
	StatusReason       string
	Version            int
	Spec               provision.RoleSpec
	Justification      string
	RoleARN            string
	InstanceProfileARN string
	// LiveVersion is the version provisioned in IAM; 0 before the first.
	LiveVersion int
	// ExpiresAt is when the live role will be revoked (the expiry in
	// force): set at activation, counted from it, and kept by a change
	// that asks for no other expiry.
	ExpiresAt   *time.Time
	ActivatedAt *time.Time
	// KeepsExpiry is true when the current version is a change that keeps
	// the expiry in force (ExpiresAt) rather than asking for its own.
	KeepsExpiry bool
	// Drifted is true when the last drift check found IAM differing from
	// the plan.
	Drifted bool
	// Decisions are those made on the current version, oldest first.
	Decisions []DecisionRecord
	// LiveBuckets are the buckets of the live version when a change made
	// another version current: the role in IAM still reaches them, so
	// their data owners keep reading the request.
	LiveBuckets []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

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
// listing every problem, ErrConflict when a live request already holds the
// role name (IAM names are unique case-insensitively) and ErrInvalid when
// the database refuses a value.
func (db *DB) CreateRequest(ctx context.Context, in NewRequest) (Created, error) {
	if strings.TrimSpace(in.Requester) == "" {
		return Created{}, errorf(KindInvalid, "a request needs a requester")
	}
	if err := db.validateSpec(in.Spec, in.Justification); err != nil {
		return Created{}, err
	}
	// The database keeps microseconds: the times returned are the stored ones.
	now := dbTime(db.now())
	va, err := newVersionArgs(in, now)
	if err != nil {
		return Created{}, err
	}
	data := map[string]any{"role_name": in.Spec.Name, "buckets": len(in.Spec.Buckets)}
	var id, eventID int64
	var keyUser, keyName *string // no key: the UPDATE matches nothing
	if k := in.Idempotency; k != nil {
		keyUser, keyName = &k.User, &k.Key
	}
	// Data-modifying CTEs run as one statement: one round trip for the
	// four tables (and the idempotency key), atomic on its own; foreign keys are checked at its end.
	insert := func(q querier) error {
		args := va.named(in, now)
		args["kind"], args["data"] = EventSubmitted, data
		args["key_user"], args["key"] = keyUser, keyName
		err := q.QueryRow(ctx, `
			WITH r AS (
				INSERT INTO requests (role_name, requester, status, version, created_at, updated_at)
				VALUES (@role_name, @actor, 'pending', 1, @now, @now)
				RETURNING id, version),`+versionCTEs+`,
			e AS (
				INSERT INTO audit_events (request_id, version, actor, kind, data, created_at)
				SELECT r.id, 1, @actor, @kind, @data, @now FROM r
				RETURNING id),
			k AS (
				UPDATE idempotency_keys SET request_id = r.id FROM r
				WHERE user_name = @key_user::text AND key = @key::text AND status IS NULL)
			SELECT r.id, e.id FROM r, e`, args).Scan(&id, &eventID)
		if err != nil && !unavailable(err) { // a broken connection is the runner's to judge
			err = interpret(err)
			if violated(err, "requests_live_role_name") {
				return errorf(KindConflict, "a role named %q is already requested or live", in.Spec.Name)
			}
		}
		return err
	}
	recovered := false
	if len(db.webhooks) == 0 {
		// The request carries its requester and creation time to the
		// microsecond: after a break, finding it tells the statement
		// committed.
		err = db.oneStatement(ctx, insert, func() (bool, error) {
			recovered = true
			err := db.pool.QueryRow(ctx, `
				SELECT r.id, e.id FROM requests r
				JOIN audit_events e ON e.request_id = r.id AND e.version = 1 AND e.kind = $4
				WHERE lower(r.role_name) = lower($1) AND r.requester = $2 AND r.created_at = $3`,
				in.Spec.Name, in.Requester, now, EventSubmitted).Scan(&id, &eventID)
			if errors.Is(err, pgx.ErrNoRows) {
				return false, nil
			}
			return err == nil, err
		})
	} else {
		// Webhook deliveries are enqueued with their event, in one
		// transaction.
		err = db.inTx(ctx, func(tx pgx.Tx) error {
			if err := insert(tx); err != nil {
				return err
			}
			return db.notify(ctx, tx, Event{ID: eventID, RequestID: id, Version: 1, Actor: in.Requester,
				Kind: EventSubmitted, Data: data, CreatedAt: now})
		})
	}
	if err != nil {
		return Created{}, err
	}
	if recovered {
		// Rare: a break lost the answer. Return what is stored, not what
		// this call meant to store.
		return db.readCreated(ctx, id)
	}
	spec := va.stored(in.Spec)
	return Created{
		Request: Request{ID: id, Requester: in.Requester, Status: StatusPending, Version: 1, Spec: spec,
			Justification: in.Justification, CreatedAt: now, UpdatedAt: now},
		First: Version{Number: 1, Spec: spec, Justification: in.Justification, CreatedBy: in.Requester,
			CreatedAt: now, TTL: time.Duration(va.ttlSeconds()) * time.Second},
		Submitted: Event{ID: eventID, RequestID: id, Version: 1, Actor: in.Requester, Kind: EventSubmitted,
			Data: data, CreatedAt: now},
	}, nil
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

// requestAndVersions reads request id and its versions, oldest first.
func (db *DB) requestAndVersions(ctx context.Context, id int64) (Request, []Version, error) {
	r, err := db.GetRequest(ctx, id)
	if err != nil {
		return Request{}, nil, err
	}
	versions, err := db.ListVersions(ctx, id)
	if err != nil {
		return Request{}, nil, err
	}
	return r, versions, nil
}

// dbTime is t as PostgreSQL's timestamptz keeps it and pgx returns it:
// whole microseconds, in the local time zone.
func dbTime(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()) }

// versionArgs are a version's column values as stored.
type versionArgs struct {
	maxSession *int32
	managed    []string
	expiresAt  *time.Time
	ttl        *int64
	// keepsExpiry: a change asking for no other expiry than the live
	// version's; it keeps the expiry in force (requests.expires_at).
	keepsExpiry                 bool
	buckets, prefixes, accesses []string
}

func newVersionArgs(in NewRequest, now time.Time) (versionArgs, error) {
	var va versionArgs
	if in.Spec.MaxSessionDuration != 0 {
		va.maxSession = &in.Spec.MaxSessionDuration
	}
	va.managed = in.Spec.ManagedPolicies
	if va.managed == nil {
		va.managed = []string{}
	}
	// The expiry asked for becomes a lifetime: it counts from activation.
	if in.Spec.ExpiresAt != nil {
		at := dbTime(*in.Spec.ExpiresAt)
		secs := int64(at.Sub(now).Seconds())
		if secs <= 0 {
			return versionArgs{}, errorf(KindInvalid, "the expiry must be in the future")
		}
		va.expiresAt, va.ttl = &at, &secs
	}
	if len(in.Spec.Buckets) == 0 {
		return versionArgs{}, errorf(KindInvalid, "a request needs at least one bucket scope")
	}
	for _, s := range in.Spec.Buckets {
		va.buckets = append(va.buckets, s.Bucket)
		va.prefixes = append(va.prefixes, s.Prefix)
		va.accesses = append(va.accesses, string(s.Access))
	}
	return va, nil
}

func (va versionArgs) ttlSeconds() int64 {
	if va.ttl == nil {
		return 0
	}
	return *va.ttl
}

// stored is spec as reading it back returns it.
func (va versionArgs) stored(spec provision.RoleSpec) provision.RoleSpec {
	spec.ExpiresAt = va.expiresAt
	if len(spec.ManagedPolicies) == 0 {
		spec.ManagedPolicies = nil
	}
	spec.Buckets = append([]provision.BucketScope(nil), spec.Buckets...)
	return spec
}

// versionCTEs insert a version and its scopes for the request r of the
// enclosing WITH (columns id and version). Their named arguments come
// from versionArgs.named; @actor, @role_name and @now are there for the
// rest of the statement to use too. The version's search document
// (migration 00010) names the request's role and requester: a version is
// written by the requester (only they change a role) under the request's
// role name (which never changes), so @role_name and @actor are those.
const versionCTEs = `
	v AS (
		INSERT INTO request_versions (request_id, version, description, justification,
			max_session_duration, managed_policies, expires_at, requested_ttl_seconds, keeps_expiry, created_by, created_at,
			search_doc)
		SELECT r.id, r.version, @description, @justification,
			@max_session_duration, @managed_policies, @expires_at, @requested_ttl_seconds, @keeps_expiry, @actor, @now,
			request_search_doc(@role_name, @actor, @justification, @buckets::text[], @prefixes::text[]) FROM r),
	s AS (
		INSERT INTO request_scopes (request_id, version, position, bucket, prefix, access)
		SELECT r.id, r.version, (t.n - 1)::smallint, t.bucket, t.prefix, t.access
		FROM r, unnest(@buckets::text[], @prefixes::text[], @accesses::text[])
			WITH ORDINALITY AS t(bucket, prefix, access, n))`

// named returns the arguments of versionCTEs; a caller adds those of the
// rest of its statement and passes the map as the statement's only
// argument (pgx rewrites each @name to a $n and ignores arguments after
// the map). They are strict: a statement that names an argument missing
// here, or leaves one unused, fails before it is sent.
func (va versionArgs) named(in NewRequest, now time.Time) pgx.StrictNamedArgs {
	return pgx.StrictNamedArgs{
		"actor":                 in.Requester,
		"role_name":             in.Spec.Name,
		"now":                   now,
		"description":           in.Spec.Description,
		"justification":         in.Justification,
		"max_session_duration":  va.maxSession,
		"managed_policies":      va.managed,
		"expires_at":            va.expiresAt,
		"requested_ttl_seconds": va.ttl,
		"keeps_expiry":          va.keepsExpiry,
		"buckets":               va.buckets,
		"prefixes":              va.prefixes,
		"accesses":              va.accesses,
	}
}

// insertVersion stores version of request id with its scopes; keepsExpiry
// marks a change that keeps the expiry in force.
func insertVersion(ctx context.Context, tx pgx.Tx, id int64, version int, in NewRequest, keepsExpiry bool, now time.Time) error {
	va, err := newVersionArgs(in, now)
	if err != nil {
		return err
	}
	va.keepsExpiry = keepsExpiry
	args := va.named(in, now)
	args["id"], args["version"] = id, version
	_, err = tx.Exec(ctx, `WITH r AS (SELECT @id::bigint AS id, @version::integer AS version),`+versionCTEs+`
		SELECT 1`, args)
	return interpret(err)
}

// requestColumns selects a request at its current version, its scopes
// aggregated in position order, so a page of requests is one query.
var requestColumns = `
	r.id, r.requester, r.status, r.status_reason, r.version, r.role_name,
	v.description, v.justification, v.max_session_duration, v.managed_policies, v.expires_at, v.keeps_expiry,
	coalesce(r.role_arn, ''), coalesce(r.instance_profile_arn, ''), coalesce(r.live_version, 0),
	r.expires_at, r.activated_at, r.drifted, r.created_at, r.updated_at,
	(SELECT coalesce(json_agg(json_build_object('bucket', s.bucket, 'prefix', s.prefix, 'access', s.access)
	        ORDER BY s.position), '[]')
	   FROM request_scopes s WHERE s.request_id = r.id AND s.version = r.version),
	(SELECT coalesce(array_agg(DISTINCT s.bucket ORDER BY s.bucket), '{}')
	   FROM request_scopes s WHERE s.request_id = r.id AND s.version = r.live_version AND r.live_version <> r.version),
	` + decisionsJSON("r.id", "r.version")

const requestFrom = ` FROM requests r JOIN request_versions v ON v.request_id = r.id AND v.version = r.version`

func scanRequest(row pgx.Row) (Request, error) {
	var (
		r          Request
		maxSession *int32
		scopes     []byte
		decisions  []byte
	)
	err := row.Scan(&r.ID, &r.Requester, &r.Status, &r.StatusReason, &r.Version, &r.Spec.Name,
		&r.Spec.Description, &r.Justification, &maxSession, &r.Spec.ManagedPolicies, &r.Spec.ExpiresAt, &r.KeepsExpiry,
		&r.RoleARN, &r.InstanceProfileARN, &r.LiveVersion, &r.ExpiresAt, &r.ActivatedAt, &r.Drifted,
		&r.CreatedAt, &r.UpdatedAt, &scopes, &r.LiveBuckets, &decisions)
	if err != nil {
		return Request{}, interpret(err)
	}
	if len(r.LiveBuckets) == 0 {
		r.LiveBuckets = nil
	}
	if r.Decisions, err = decodeDecisions(decisions); err != nil {
		return Request{}, err
	}
	if maxSession != nil {
		r.Spec.MaxSessionDuration = *maxSession
	}
	if len(r.Spec.ManagedPolicies) == 0 {
		r.Spec.ManagedPolicies = nil
	}
	if err := json.Unmarshal(scopes, &r.Spec.Buckets); err != nil {
		return Request{}, fmt.Errorf("decode scopes of request %d: %w", r.ID, err)
	}
	return r, nil
}

// GetRequest returns the request with its current version, or ErrNotFound.
func (db *DB) GetRequest(ctx context.Context, id int64) (Request, error) {
	return scanRequest(db.pool.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+` WHERE r.id = $1`, id))
}
