package store

import (
	"context"
	"fmt"
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
	// PlannedRoleARN is the role ARN planned when the request was approved
	// (or, approved before that was recorded, when its provisioning first
	// began), before any IAM write ("" before that): the role keeps its
	// path and name (see KeptRoleARN).
	PlannedRoleARN string
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

// KeptRoleARN is the ARN whose path and name r's role keeps in IAM,
// whatever the name prefix and role path are now: the live role's
// (RoleARN), or else the one fixed at its approval (PlannedRoleARN),
// which a role created by an attempt that did not finish has too. It is
// "" for a request not approved yet: its role is planned under the
// settings of the day.
func (r Request) KeptRoleARN() string {
	if r.RoleARN != "" {
		return r.RoleARN
	}
	return r.PlannedRoleARN
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

// requestColumns selects a request at its current version, its scopes
// aggregated in position order, so a page of requests is one query.
var requestColumns = `
	r.id, r.requester, r.status, r.status_reason, r.version, v.justification, v.keeps_expiry,
	coalesce(r.role_arn, ''), coalesce(r.instance_profile_arn, ''), coalesce(r.planned_role_arn, ''), coalesce(r.live_version, 0),
	r.expires_at, r.activated_at, r.drifted, r.created_at, r.updated_at,
	(SELECT coalesce(array_agg(DISTINCT s.bucket ORDER BY s.bucket), '{}')
	   FROM request_scopes s WHERE s.request_id = r.id AND s.version = r.live_version AND r.live_version <> r.version),
	` + decisionsJSON("r.id", "r.version") + `,
	` + specColumns

const requestFrom = ` FROM requests r JOIN request_versions v ON v.request_id = r.id AND v.version = r.version`

// requestSQL reads request $1 (GetRequest).
var requestSQL = `SELECT ` + requestColumns + requestFrom + ` WHERE r.id = $1`

func scanRequest(row pgx.Row) (Request, error) {
	var (
		r         Request
		spec      specScan
		decisions []byte
	)
	err := row.Scan(spec.scanWith(&r.ID, &r.Requester, &r.Status, &r.StatusReason, &r.Version, &r.Justification, &r.KeepsExpiry,
		&r.RoleARN, &r.InstanceProfileARN, &r.PlannedRoleARN, &r.LiveVersion, &r.ExpiresAt, &r.ActivatedAt, &r.Drifted,
		&r.CreatedAt, &r.UpdatedAt, &r.LiveBuckets, &decisions)...)
	if err != nil {
		return Request{}, interpret(err)
	}
	if len(r.LiveBuckets) == 0 {
		r.LiveBuckets = nil
	}
	if r.Decisions, err = decodeDecisions(decisions); err != nil {
		return Request{}, err
	}
	if err := spec.decode(&r.Spec); err != nil {
		return Request{}, fmt.Errorf("request %d: %w", r.ID, err)
	}
	return r, nil
}

// GetRequest returns the request with its current version, or ErrNotFound.
func (db *DB) GetRequest(ctx context.Context, id int64) (Request, error) {
	return scanRequest(db.pool.QueryRow(ctx, requestSQL, id))
}
