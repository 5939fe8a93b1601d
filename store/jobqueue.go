package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// JobsWaiting counts the queue's jobs that wait to run, by kind: those
// available now, retryable (waiting out a back-off) and scheduled (a
// snooze or a periodic job's next run). Running, finished and discarded
// jobs are not counted. It returns the database's error (ErrUnavailable
// when it cannot be reached, or ctx's end).
func (db *DB) JobsWaiting(ctx context.Context) (map[string]int64, error) {
	rows, err := db.pool.Query(ctx, `SELECT kind, count(*) FROM river_job
		WHERE state IN ('available', 'retryable', 'scheduled') GROUP BY kind`)
	if err != nil {
		return nil, interpret(err)
	}
	type waiting struct {
		Kind  string
		Count int64
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[waiting])
	if err != nil {
		return nil, interpret(err)
	}
	out := make(map[string]int64, len(got))
	for _, w := range got {
		out[w.Kind] = w.Count
	}
	return out, nil
}
