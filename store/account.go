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
	return errors.Join(errs...)
}

// unlistedAccount says which requests name an account the configuration
// lacks, and what to do.
func unlistedAccount(account string, ids []int64) error {
	const most = 20
	list := make([]string, 0, min(len(ids), most))
	for _, id := range ids[:min(len(ids), most)] {
		list = append(list, strconv.FormatInt(id, 10))
	}
	noun, more := "requests", ""
	if len(ids) == 1 {
		noun = "request"
	}
	if len(ids) > most {
		more = fmt.Sprintf(" and %d more", len(ids)-most)
	}
	verb := "name"
	if len(ids) == 1 {
		verb = "names"
	}
	return fmt.Errorf("%s %s%s %s account %q, which the accounts file does not list: name the account they live in %q in the file",
		noun, strings.Join(list, ", "), more, verb, account, account)
}
