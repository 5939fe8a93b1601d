package store

import "context"

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
