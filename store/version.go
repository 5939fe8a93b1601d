package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/provision"
)

// Version is one version of a request: what was asked, who decided what,
// and, once provisioned, its Terraform.
type Version struct {
	Number        int
	Spec          provision.RoleSpec
	Justification string
	CreatedBy     string
	CreatedAt     time.Time
	ApprovedAt    *time.Time
	// TTL is the lifetime the role gets from activation (the approvers'
	// shortened one when set); 0 means no expiry, or, when KeepsExpiry,
	// that the expiry in force stays as it is.
	TTL time.Duration
	// KeepsExpiry is true for a change that asks for no other expiry than
	// the live version's: the role keeps the expiry in force when it goes
	// live (cut to TTL from activation when an approver shortened it).
	KeepsExpiry     bool
	Decisions       []DecisionRecord
	Terraform       string
	TerraformSHA256 string
}

// DecisionRecord is a stored decision.
type DecisionRecord struct {
	Approver string
	Groups   []string
	// Roles are the roles the approver held when deciding; nil for
	// decisions older than the record of roles (they never count).
	Roles     []Role
	Approve   bool
	Comment   string
	CreatedAt time.Time
	// Rule names the rule that made an automatic approval (RuleNoNewAccess);
	// empty for a person's decision.
	Rule string
}

// decisionsJSON selects the decisions on one version as a JSON array,
// oldest first; decodeDecisions reads it.
func decisionsJSON(requestID, version string) string {
	return `(SELECT coalesce(json_agg(json_build_object('approver', d.approver, 'groups', d.approver_groups,
	               'roles', d.approver_roles, 'decision', d.decision, 'comment', d.comment, 'created_at', d.created_at,
	               'rule', coalesce(d.rule, ''))
	               ORDER BY d.id), '[]')
	          FROM decisions d WHERE d.request_id = ` + requestID + ` AND d.version = ` + version + `)`
}

func decodeDecisions(b []byte) ([]DecisionRecord, error) {
	var ds []struct {
		Approver  string    `json:"approver"`
		Groups    []string  `json:"groups"`
		Roles     []Role    `json:"roles"`
		Decision  string    `json:"decision"`
		Comment   string    `json:"comment"`
		CreatedAt time.Time `json:"created_at"`
		Rule      string    `json:"rule"`
	}
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, fmt.Errorf("decode decisions: %w", err)
	}
	var out []DecisionRecord
	for _, d := range ds {
		out = append(out, DecisionRecord{Approver: d.Approver, Groups: d.Groups, Roles: d.Roles,
			Approve: d.Decision == "approve", Comment: d.Comment, CreatedAt: d.CreatedAt, Rule: d.Rule})
	}
	return out, nil
}

// ListVersions returns every version of request id, oldest first, or
// ErrNotFound.
func (db *DB) ListVersions(ctx context.Context, id int64) ([]Version, error) {
	rows, err := db.pool.Query(ctx, versionsSQL, id)
	if err != nil {
		return nil, interpret(err)
	}
	return scanVersions(rows)
}

var versionsSQL = `
		SELECT v.version, v.justification, v.created_by, v.created_at, v.approved_at,
		       coalesce(v.approved_ttl_seconds, CASE WHEN NOT v.keeps_expiry THEN v.requested_ttl_seconds END, 0), v.keeps_expiry,
		       coalesce(v.terraform, ''), coalesce(v.terraform_sha256, ''),
		       ` + decisionsJSON("v.request_id", "v.version") + `,
		       ` + specColumns + `
		FROM request_versions v JOIN requests r ON r.id = v.request_id
		WHERE v.request_id = $1 ORDER BY v.version`

// scanVersions reads the rows of versionsSQL, or ErrNotFound for none.
func scanVersions(rows pgx.Rows) ([]Version, error) {
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var (
			v         Version
			spec      specScan
			ttl       int64
			decisions []byte
		)
		if err := rows.Scan(spec.scanWith(&v.Number, &v.Justification, &v.CreatedBy, &v.CreatedAt, &v.ApprovedAt, &ttl,
			&v.KeepsExpiry, &v.Terraform, &v.TerraformSHA256, &decisions)...); err != nil {
			return nil, interpret(err)
		}
		v.TTL = secondsDuration(ttl)
		if err := spec.decode(&v.Spec); err != nil {
			return nil, err
		}
		var err error
		if v.Decisions, err = decodeDecisions(decisions); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, interpret(err)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

// CountRoutedByStatus counts, per state, the requests a data owner who is
// not an approver sees on the dashboard (ListFilter.DecidableBy): not
// their own, touching a bucket routed to one of their groups in the
// current or live version.
func (db *DB) CountRoutedByStatus(ctx context.Context, a Actor) (map[Status]int, error) {
	return db.countByStatus(ctx, `SELECT status, count(*) FROM requests r WHERE r.requester <> $1
		AND `+fmt.Sprintf(routedSQL, 2, 3)+` GROUP BY status`,
		a.Name, likePatterns(db.rules.Routes, a.Groups, false), likePatterns(db.rules.Routes, a.Groups, true))
}

func (db *DB) countByStatus(ctx context.Context, sql string, args ...any) (map[Status]int, error) {
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, interpret(err)
	}
	out := map[Status]int{}
	var (
		s Status
		n int
	)
	if _, err := pgx.ForEachRow(rows, []any{&s, &n}, func() error { out[s] = n; return nil }); err != nil {
		return nil, interpret(err)
	}
	return out, nil
}

// ListActiveRoles returns one page of the roles live in IAM, newest first:
// active ones, and live ones with a change under way (their live version
// is still in IAM).
func (db *DB) ListActiveRoles(ctx context.Context, cursor string, limit int) (RequestPage, error) {
	return db.ListRequests(ctx, ListFilter{LiveInIAM: true, Cursor: cursor, Limit: limit})
}
