package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

var uniqueByArgs = &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}

// enqueue inserts a job (one of package jobargs) inside tx, so it exists
// exactly when the state change that asked for it commits.
func (db *DB) enqueue(ctx context.Context, tx pgx.Tx, args river.JobArgs) error {
	if _, err := db.river.InsertTx(ctx, tx, args, uniqueByArgs); err != nil {
		return fmt.Errorf("enqueue %s job: %w", args.Kind(), err)
	}
	return nil
}
