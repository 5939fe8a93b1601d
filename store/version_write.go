package store

import (
	"context"
	"maps"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/provision"
)

// dbTime is t as PostgreSQL's timestamptz keeps it and pgx returns it:
// whole microseconds, in the local time zone.
func dbTime(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()) }

// versionArgs are a version's column values as stored.
type versionArgs struct {
	// spec is the version's spec as stored and read back: its expiry in
	// the database's precision, no managed policies as nil. specArgs
	// gives its columns.
	spec provision.RoleSpec
	ttl  *int64
	// keepsExpiry: a change asking for no other expiry than the live
	// version's; it keeps the expiry in force (requests.expires_at).
	keepsExpiry                 bool
	buckets, prefixes, accesses []string
}

// newVersionArgs are in's column values at now. A change that keeps the
// expiry in force (keepsExpiry) repeats the live version's expiry, which
// may have passed as the role went live later than asked (a lifetime
// counts from activation): it then asks for no lifetime, and is not
// refused.
func newVersionArgs(in NewRequest, now time.Time, keepsExpiry bool) (versionArgs, error) {
	va := versionArgs{spec: in.Spec, keepsExpiry: keepsExpiry}
	if len(va.spec.ManagedPolicies) == 0 {
		va.spec.ManagedPolicies = nil
	}
	// The expiry asked for becomes a lifetime: it counts from activation.
	if in.Spec.ExpiresAt != nil {
		at := dbTime(*in.Spec.ExpiresAt)
		secs := int64(at.Sub(now).Seconds())
		switch {
		case keepsExpiry && secs <= 0:
			va.spec.ExpiresAt = &at
		case secs <= 0:
			return versionArgs{}, errorf(KindInvalid, "the expiry must be in the future")
		default:
			va.spec.ExpiresAt, va.ttl = &at, &secs
		}
	}
	if len(in.Spec.Buckets) == 0 {
		return versionArgs{}, errorf(KindInvalid, "a request needs at least one bucket scope")
	}
	va.spec.Buckets = append([]provision.BucketScope(nil), in.Spec.Buckets...)
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

// versionCTEs insert a version and its scopes for the request r of the
// enclosing WITH (columns id and version); the spec's columns of the
// version are specInsertColumns. Their named arguments come from
// versionArgs.named; @actor, @role_name and @now are there for the rest
// of the statement to use too. The version's search document
// (migrations 00010, 00013) names the request's account, role and
// requester: a version is written by the requester (only they change a
// role) under the request's account and role name (which never change), so
// @account, @role_name and @actor are those.
var versionCTEs = `
	v AS (
		INSERT INTO request_versions (request_id, version, ` + specInsertColumns + `,
			justification, requested_ttl_seconds, keeps_expiry, created_by, created_at, search_doc)
		SELECT r.id, r.version, ` + specInsertValues + `,
			@justification, @requested_ttl_seconds, @keeps_expiry, @actor, @now,
			request_search_doc(@account, @role_name, @actor, @justification, @buckets::text[], @prefixes::text[]) FROM r),
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
	args := pgx.StrictNamedArgs{
		"actor":                 in.Requester,
		"account":               in.Spec.Account,
		"role_name":             in.Spec.Name,
		"now":                   now,
		"justification":         in.Justification,
		"requested_ttl_seconds": va.ttl,
		"keeps_expiry":          va.keepsExpiry,
		"buckets":               va.buckets,
		"prefixes":              va.prefixes,
		"accesses":              va.accesses,
	}
	maps.Copy(args, specArgs(va.spec))
	return args
}

// insertVersion stores version of request id with its scopes; keepsExpiry
// marks a change that keeps the expiry in force.
func insertVersion(ctx context.Context, tx pgx.Tx, id int64, version int, in NewRequest, keepsExpiry bool, now time.Time) error {
	va, err := newVersionArgs(in, now, keepsExpiry)
	if err != nil {
		return err
	}
	args := va.named(in, now)
	args["id"], args["version"] = id, version
	_, err = tx.Exec(ctx, `WITH r AS (SELECT @id::bigint AS id, @version::integer AS version),`+versionCTEs+`
		SELECT 1`, args)
	return interpret(err)
}
