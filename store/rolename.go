package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RoleNameTaken reports whether a request into account (the account's
// name; "" is the default account) other than except (0: none) holds the
// role name: one that may still own, or come to own, the IAM role. IAM
// compares role names case-insensitively within an account, and so does
// this, by the same rule as the unique index CreateRequest relies on. It
// returns the database's error when the query fails.
func (db *DB) RoleNameTaken(ctx context.Context, account, name string, except int64) (bool, error) {
	if a, ok := db.settings.Account(account); ok {
		account = a.Name
	}
	var taken bool
	err := db.pool.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM requests
			WHERE account = $3 AND lower(role_name COLLATE "C") = lower($1 COLLATE "C") AND id <> $2
			  AND status NOT IN ('rejected', 'cancelled', 'revoked', 'expired'))`, name, except, account).Scan(&taken)
	if err != nil {
		return false, interpret(err)
	}
	return taken, nil
}

// IAMNameTaken returns what CreateRequest says at "name" of a new role
// named name in account ("" is the default account) whose name in IAM, the
// account's name prefix and name, is the name of a role created, approved
// or begun under an earlier name prefix (iamNameTakenSQL), or "" when no
// such role has it; the previews ask it beside RoleNameTaken, which
// answers for the same role name. Like RoleNameTaken's answer it names no request. It returns ""
// for an unknown account, and the database's error when the query fails.
func (db *DB) IAMNameTaken(ctx context.Context, account, name string) (string, error) {
	set, a, err := db.settings.In(account)
	if err != nil {
		return "", nil
	}
	var id int64
	err = db.pool.QueryRow(ctx, iamNameTakenSQL, iamNameArgs(a.Name, name, set.NamePrefix+name)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", interpret(err)
	}
	return db.iamNameTaken(a.Name, set.NamePrefix, name), nil
}

// iamNameTakenSQL selects a request not ended in @account whose role has,
// or is fixed to have, the name @iam_name in IAM, compared as IAM compares
// role names (ASCII letters in any case, by the rule of the unique index
// of role names since migration 19), under another role name than
// @role_name: a role created or first planned under another name prefix,
// which keeps its name in IAM (Request.KeptRoleARN): the live role's ARN,
// or the one fixed when the request was approved (or its provisioning
// began), whose role an attempt that did not finish may have created and
// a retry completes. A role of
// the same role name is the unique index's to refuse. A role's name in
// IAM is a prefix and its role name, so its role name is one of the ends
// of @iam_name: that index finds the few candidates, and the name in the
// ARN (after the path) decides. (An ORDER BY id would have the planner
// read the index of ids instead, all of it.) A pending request has no name
// in IAM yet: it gets the prefix of its approval, today's, so the unique
// index covers it.
const iamNameTakenSQL = `SELECT id FROM requests
	WHERE account = @account AND status NOT IN ('rejected', 'cancelled', 'revoked', 'expired')
	  AND lower(role_name COLLATE "C") = ANY (ARRAY(
		SELECT lower(substr(@iam_name::text, i) COLLATE "C") FROM generate_series(1, length(@iam_name::text)) AS i))
	  AND lower(role_name COLLATE "C") <> lower(@role_name::text COLLATE "C")
	  AND lower(regexp_replace(coalesce(role_arn, planned_role_arn), '^.*/', '') COLLATE "C") = lower(@iam_name::text COLLATE "C")
	LIMIT 1`

// iamNameArgs are the arguments of iamNameTakenSQL.
func iamNameArgs(account, name, iamName string) pgx.StrictNamedArgs {
	return pgx.StrictNamedArgs{"account": account, "role_name": name, "iam_name": iamName}
}

// iamNameTaken is the problem at "name" of a new role named name in
// account whose name in IAM, prefix and name, another request's role
// (live, approved or being provisioned) created under an earlier prefix
// has.
func (db *DB) iamNameTaken(account, prefix, name string) string {
	where := ""
	if len(db.settings.Accounts) > 1 {
		where = " in account " + account
	}
	if prefix == "" {
		return fmt.Sprintf("this role would be named %q in IAM, the name of another request's role%s created under an earlier name prefix; choose another name", name, where)
	}
	return fmt.Sprintf("with the name prefix %q this role would be named %q in IAM, the name of another request's role%s created under an earlier name prefix; choose another name",
		prefix, prefix+name, where)
}
