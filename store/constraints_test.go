package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// The database itself refuses impossible rows, whatever the Go code does.
func TestConstraintsRefuseImpossibleRows(t *testing.T) {
	db, ctx := setupDB(t)
	r := mustCreate(t, db, newRequest("constraint-role", "alice"))
	pool := db.Pool()

	cases := []struct {
		name string
		sql  string
		args []any
		code string // SQLSTATE
	}{
		{"unknown status", `UPDATE requests SET status = 'done' WHERE id = $1`, []any{r.ID}, "23514"},
		{"active without ARNs", `UPDATE requests SET status = 'active' WHERE id = $1`, []any{r.ID}, "23514"},
		{"role name with a space", `UPDATE requests SET role_name = 'bad name' WHERE id = $1`, []any{r.ID}, "23514"},
		{"role name over 64", `UPDATE requests SET role_name = $2 WHERE id = $1`, []any{r.ID, strings.Repeat("a", 65)}, "23514"},
		{"version zero", `UPDATE requests SET version = 0 WHERE id = $1`, []any{r.ID}, "23514"},
		{"version with no row", `UPDATE requests SET version = 2 WHERE id = $1`, []any{r.ID}, "23503"},
		{"updated before created", `UPDATE requests SET updated_at = created_at - interval '1 day' WHERE id = $1`, []any{r.ID}, "23514"},
		{"malformed role ARN", `UPDATE requests SET role_arn = 'not-an-arn' WHERE id = $1`, []any{r.ID}, "23514"},
		{"empty justification", `INSERT INTO request_versions (request_id, version, justification, created_by, search_doc) VALUES ($1, 2, '  ', 'alice', '')`, []any{r.ID}, "23514"},
		{"session too long", `INSERT INTO request_versions (request_id, version, justification, created_by, max_session_duration, search_doc) VALUES ($1, 2, 'x', 'alice', 50000, '')`, []any{r.ID}, "23514"},
		{"duplicate version", `INSERT INTO request_versions (request_id, version, justification, created_by, search_doc) VALUES ($1, 1, 'x', 'alice', '')`, []any{r.ID}, "23505"},
		{"upper-case bucket", `INSERT INTO request_scopes (request_id, version, position, bucket, access) VALUES ($1, 1, 5, 'Bucket', 'read')`, []any{r.ID}, "23514"},
		{"unknown access", `INSERT INTO request_scopes (request_id, version, position, bucket, access) VALUES ($1, 1, 5, 'bucket', 'admin')`, []any{r.ID}, "23514"},
		{"duplicate scope", `INSERT INTO request_scopes (request_id, version, position, bucket, access) VALUES ($1, 1, 5, 'example-bucket', 'write')`, []any{r.ID}, "23505"},
		{"scope of a missing version", `INSERT INTO request_scopes (request_id, version, position, bucket, access) VALUES ($1, 9, 0, 'bucket', 'read')`, []any{r.ID}, "23503"},
		{"unknown decision", `INSERT INTO decisions (request_id, version, approver, approver_roles, decision) VALUES ($1, 1, 'bob', '{approver}', 'maybe')`, []any{r.ID}, "23514"},
		{"decision without its maker's roles", `INSERT INTO decisions (request_id, version, approver, decision) VALUES ($1, 1, 'bob', 'approve')`, []any{r.ID}, "23514"},
		{"event with no actor", `INSERT INTO audit_events (actor, kind) VALUES ('', 'x')`, nil, "23514"},
		{"event data not an object", `INSERT INTO audit_events (actor, kind, data) VALUES ('a', 'x', '[1]')`, nil, "23514"},
		{"event version without request", `INSERT INTO audit_events (actor, kind, version) VALUES ('a', 'x', 1)`, nil, "23514"},
		{"audit update", `UPDATE audit_events SET actor = 'mallory'`, nil, "42501"},
		{"audit delete", `DELETE FROM audit_events`, nil, "42501"},
		{"audit truncate", `TRUNCATE audit_events`, nil, "42501"},
	}
	for _, tc := range cases {
		_, err := pool.Exec(ctx, tc.sql, tc.args...)
		var pgErr *pgconn.PgError
		if err == nil {
			t.Errorf("%s: accepted, want SQLSTATE %s", tc.name, tc.code)
			continue
		}
		if !errors.As(err, &pgErr) || pgErr.Code != tc.code {
			t.Errorf("%s: err = %v, want SQLSTATE %s", tc.name, err, tc.code)
		}
	}

	// One decision per approver per version.
	if _, err := pool.Exec(ctx, `INSERT INTO decisions (request_id, version, approver, approver_roles, decision) VALUES ($1, 1, 'bob', '{approver}', 'approve')`, r.ID); err != nil {
		t.Fatal(err)
	}
	_, err := pool.Exec(ctx, `INSERT INTO decisions (request_id, version, approver, approver_roles, decision) VALUES ($1, 1, 'bob', '{approver}', 'reject')`, r.ID)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("second decision by bob: err = %v, want unique violation", err)
	}
}
