package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// CheckAccounts refuses a configuration that lacks an account some
// request still lives in (or may come to): every request not ended names
// one of the settings' accounts. Stored names are explicit, so a changed
// default account never moves a live role; a name dropped from the
// accounts file must be put back. It returns one error per missing
// account, naming its requests, or the database's error.
func (db *DB) CheckAccounts(ctx context.Context) error {
	rows, err := db.pool.Query(ctx, `
		SELECT account, array_agg(id ORDER BY id) FROM requests
		WHERE status NOT IN ('rejected', 'cancelled', 'revoked', 'expired') AND account <> ALL($1)
		GROUP BY account ORDER BY account`, db.settings.AccountNames())
	if err != nil {
		return interpret(err)
	}
	defer rows.Close()
	var errs []error
	for rows.Next() {
		var (
			account string
			ids     []int64
		)
		if err := rows.Scan(&account, &ids); err != nil {
			return interpret(err)
		}
		errs = append(errs, unlistedAccount(account, ids))
	}
	if err := rows.Err(); err != nil {
		return interpret(err)
	}
	moved, err := db.movedAccounts(ctx)
	if err != nil {
		return err
	}
	return errors.Join(append(errs, moved...)...)
}

// movedAccounts says, per account of the accounts file, which requests not
// ended have their live role in another account than the file's ID for it:
// rolegate would act in the new one, where a change or a drift repair
// creates the role again and a revocation finds nothing to remove, while
// the role stays in the old one. Without an accounts file rolegate acts
// with its own credentials wherever they are, so there is nothing to check.
func (db *DB) movedAccounts(ctx context.Context) ([]error, error) {
	if len(db.settings.Accounts) == 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `
		SELECT account, split_part(role_arn, ':', 5), array_agg(id ORDER BY id) FROM requests
		WHERE status NOT IN ('rejected', 'cancelled', 'revoked', 'expired') AND role_arn IS NOT NULL
		GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	var errs []error
	for rows.Next() {
		var (
			account, id string
			ids         []int64
		)
		if err := rows.Scan(&account, &id, &ids); err != nil {
			return nil, interpret(err)
		}
		a, ok := db.settings.Account(account)
		if !ok || a.ID == "" || a.ID == id {
			continue // unlisted accounts are reported as such
		}
		errs = append(errs, fmt.Errorf("%s in account %s, but the accounts file gives its account %q the ID %s: give %q the ID %s again (an account's roles cannot move to another)",
			haveRoles(ids), id, a.Name, a.ID, a.Name, id))
	}
	if err := rows.Err(); err != nil {
		return nil, interpret(err)
	}
	return errs, nil
}

// haveRoles is "request 1 has its role" or "requests 1, 3 have their
// roles" (see requestList).
func haveRoles(ids []int64) string {
	if len(ids) == 1 {
		return requestList(ids) + " has its role"
	}
	return requestList(ids) + " have their roles"
}

// unlistedAccount says which requests name an account the configuration
// lacks, and what to do.
func unlistedAccount(account string, ids []int64) error {
	verb := "name"
	if len(ids) == 1 {
		verb = "names"
	}
	return fmt.Errorf("%s %s account %q, which the accounts file does not list: name the account they live in %q in the file",
		requestList(ids), verb, account, account)
}

// requestList is "request 1" or "requests 1, 3", naming the first 20
// requests, then how many more: "requests 1, ..., 20 and 5 more".
func requestList(ids []int64) string {
	const most = 20
	list := make([]string, 0, min(len(ids), most))
	for _, id := range ids[:min(len(ids), most)] {
		list = append(list, strconv.FormatInt(id, 10))
	}
	if len(ids) == 1 {
		return "request " + list[0]
	}
	more := ""
	if len(ids) > most {
		more = fmt.Sprintf(" and %d more", len(ids)-most)
	}
	return "requests " + strings.Join(list, ", ") + more
}
