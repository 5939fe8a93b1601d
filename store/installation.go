package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// readInstallation reads the database's installation ID (migration 21)
// into db: "" while the database has none yet, not migrated that far. It
// returns the error of the query for any other failure.
func (db *DB) readInstallation(ctx context.Context) error {
	var id string
	err := db.pool.QueryRow(ctx, `SELECT id::text FROM installation`).Scan(&id)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the installation ID: %w", interpret(err))
	}
	db.installation.Store(&id)
	return nil
}

// Installation returns the ID of this rolegate installation: drawn by the
// database when it was migrated (migration 21) and never changed, so that
// two installations sharing an AWS account, each with its own request
// 42, can tell their roles apart (provision.TagInstallation). It returns ""
// for a database not migrated that far; Open reads it, and Migrate once
// it has created it.
func (db *DB) Installation() string {
	if id := db.installation.Load(); id != nil {
		return *id
	}
	return ""
}
