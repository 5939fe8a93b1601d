package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/provision"
)

// A role spec is stored in three places: its account and role name on the
// request (requests, which never change them), the rest on each version
// (request_versions), its bucket scopes in request_scopes. This file is
// the one that names the spec's columns: every statement that reads a
// spec selects specColumns and scans them with specScan, and every
// version written takes its spec columns from specInsertColumns,
// specInsertValues and specArgs. A plain spec field is one column in
// each of them (and a migration).

// specColumns selects the spec of the version v of request r (the
// statement names them so), for specScan; its scopes come as a JSON
// array in position order.
const specColumns = `r.account, r.role_name,
	v.description, v.max_session_duration, v.managed_policies, v.expires_at,
	(SELECT coalesce(json_agg(json_build_object('bucket', s.bucket, 'prefix', s.prefix, 'access', s.access)
	        ORDER BY s.position), '[]')
	   FROM request_scopes s WHERE s.request_id = v.request_id AND s.version = v.version)`

// specScan holds the columns of specColumns as scanned, until decode
// makes them a spec.
type specScan struct {
	account, name, description string
	maxSession                 *int32
	managed                    []string
	expiresAt                  *time.Time
	scopes                     []byte
}

// targets are the scan destinations of specColumns, in their order.
func (s *specScan) targets() []any {
	return []any{&s.account, &s.name, &s.description, &s.maxSession, &s.managed, &s.expiresAt, &s.scopes}
}

// scanWith is targets after the destinations of the columns a statement
// selects before specColumns.
func (s *specScan) scanWith(before ...any) []any {
	return append(before, s.targets()...)
}

// decode sets spec from the columns scanned, translating those that need
// it: the nullable session duration, no managed policies as nil, and the
// scopes of specColumns. It fails only on scopes that are not that JSON.
func (s *specScan) decode(spec *provision.RoleSpec) error {
	*spec = provision.RoleSpec{Account: s.account, Name: s.name, Description: s.description,
		ManagedPolicies: s.managed, ExpiresAt: s.expiresAt}
	if s.maxSession != nil {
		spec.MaxSessionDuration = *s.maxSession
	}
	if len(spec.ManagedPolicies) == 0 {
		spec.ManagedPolicies = nil
	}
	if err := json.Unmarshal(s.scopes, &spec.Buckets); err != nil {
		return fmt.Errorf("decode scopes: %w", err)
	}
	return nil
}

// specInsertColumns are the spec's columns of request_versions an INSERT
// writes, specInsertValues their values, named in specArgs. The account,
// role name and scopes are written with the request and its
// request_scopes (versionCTEs).
const (
	specInsertColumns = `description, max_session_duration, managed_policies, expires_at`
	specInsertValues  = `@description, @max_session_duration, @managed_policies, @expires_at`
)

// specArgs are the named arguments of specInsertValues for spec, as
// newVersionArgs keeps it (its expiry already in the database's
// precision): no session duration (0) is NULL, no managed policies an
// empty array.
func specArgs(spec provision.RoleSpec) pgx.StrictNamedArgs {
	var maxSession *int32
	if spec.MaxSessionDuration != 0 {
		maxSession = &spec.MaxSessionDuration
	}
	managed := spec.ManagedPolicies
	if managed == nil {
		managed = []string{}
	}
	return pgx.StrictNamedArgs{
		"description":          spec.Description,
		"max_session_duration": maxSession,
		"managed_policies":     managed,
		"expires_at":           spec.ExpiresAt,
	}
}
