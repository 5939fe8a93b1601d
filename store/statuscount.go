package store

import (
	"context"
)

// statusCountRowsToFold is how many rows of request_status_counts a
// reader sums before it folds them into one per status.
const statusCountRowsToFold = 256

// CountByStatus returns how many requests are in each state. It reads the
// counts the requests table's triggers keep (migration 00010), which are
// exact in the reader's snapshot, and folds their rows when they have
// grown, so that reading stays a sum over a few rows.
func (db *DB) CountByStatus(ctx context.Context) (map[Status]int, error) {
	rows, err := db.pool.Query(ctx, `SELECT status, sum(n)::bigint, count(*) FROM request_status_counts GROUP BY status`)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	out := map[Status]int{}
	stored := 0
	for rows.Next() {
		var (
			s         Status
			n, deltas int
		)
		if err := rows.Scan(&s, &n, &deltas); err != nil {
			return nil, interpret(err)
		}
		if n != 0 {
			out[s] = n
		}
		stored += deltas
	}
	if err := rows.Err(); err != nil {
		return nil, interpret(err)
	}
	if stored > statusCountRowsToFold {
		if err := db.foldStatusCounts(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// foldStatusCounts replaces the rows of request_status_counts by their
// sum per status, in one statement. Writers only insert rows, so they
// never wait on it; two folds at once each delete only rows the other has
// not, and the sums stay whole.
func (db *DB) foldStatusCounts(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, `
		WITH gone AS (DELETE FROM request_status_counts RETURNING status, n)
		INSERT INTO request_status_counts (status, n)
		SELECT status, sum(n) FROM gone GROUP BY status HAVING sum(n) <> 0`)
	return interpret(err)
}
