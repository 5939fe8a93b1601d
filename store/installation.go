package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// installation is the database's one installation row.
type installation struct {
	id string
	// adoptsUpTo is the highest request ID that existed before id was
	// drawn (migration 22), 0 for none.
	adoptsUpTo int64
}

// readInstallation reads the database's installation ID (migration 21)
// and adoption bound (migration 22) into db: no ID while the database has
// none yet, not migrated that far, and a bound of 0 (adopt nothing) while
// it has the ID but not the bound. It returns the error of the query for
// any other failure.
func (db *DB) readInstallation(ctx context.Context) error {
	var row installation
	err := db.pool.QueryRow(ctx, `SELECT id::text, adopts_up_to FROM installation`).Scan(&row.id, &row.adoptsUpTo)
	if pgCode(err) == "42703" { // undefined_column: before migration 22
		err = db.pool.QueryRow(ctx, `SELECT id::text FROM installation`).Scan(&row.id)
	}
	if pgCode(err) == "42P01" { // undefined_table: before migration 21
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the installation ID: %w", interpret(err))
	}
	db.installation.Store(&row)
	return nil
}

// pgCode is the SQLSTATE of err, "" for none.
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// Installation returns the ID of this rolegate installation: drawn by the
// database when it was migrated (migration 21) and never changed, so that
// two installations sharing an AWS account, each with its own request
// 42, can tell their roles apart (provision.TagInstallation). It returns ""
// for a database not migrated that far; Open reads it, and Migrate once
// it has created it.
func (db *DB) Installation() string {
	if row := db.installation.Load(); row != nil {
		return row.id
	}
	return ""
}

// AdoptsUpTo returns the highest ID of the requests this database held
// before it drew its installation ID (migration 22): only a request up
// to it can own a role or instance profile rolegate made without the
// installation tag (provision.Settings.AdoptsUpTo). It returns 0 (adopt
// nothing) for a database that held no request then, and for one not
// migrated that far.
func (db *DB) AdoptsUpTo() int64 {
	if row := db.installation.Load(); row != nil {
		return row.adoptsUpTo
	}
	return 0
}
