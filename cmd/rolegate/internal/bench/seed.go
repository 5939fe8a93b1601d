package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rolegate/rolegate/store"
)

// seededMarker is the table a seeded database records its seed in; a
// database with it is seeded whole (the seed and the marker commit
// together).
const seededMarker = "bench_seeded"

// seededStore opens the database of a section seeded with seed (a name
// such as "dashboard-v1-100000", which changes whenever the seed's SQL
// does), migrated to this binary's schema. With --reuse-seeded the
// database is rolegate_bench_seeded_<seed>, kept after the run and used
// again when it holds that seed; otherwise a database of this run's own.
// fill writes the rows; it runs in one transaction with the secondary
// indexes and foreign keys of tables dropped and built again after, which
// is several times faster than keeping them up to date row by row.
func (e *env) seededStore(ctx context.Context, seed string, tables []string, fill string) (*store.DB, string, error) {
	var (
		db    *store.DB
		dbURL string
		err   error
	)
	if e.settings.ReuseSeeded {
		db, dbURL, err = e.namedStore(ctx, "rolegate_bench_seeded_"+seed)
	} else {
		db, dbURL, err = e.newStore(ctx, seed, store.Options{MaxConns: 4})
	}
	if err != nil {
		return nil, "", err
	}
	var have string
	err = db.Pool().QueryRow(ctx, `SELECT seed FROM `+seededMarker).Scan(&have)
	var pgErr *pgconn.PgError
	switch {
	case err == nil && have == seed:
		e.logf("%s: using the database seeded before", seed)
		return db, dbURL, nil
	case err == nil:
		db.Close()
		return nil, "", fmt.Errorf("database of seed %s holds seed %s", seed, have)
	case !errors.As(err, &pgErr) || pgErr.Code != "42P01": // undefined_table: not seeded yet
		db.Close()
		return nil, "", err
	}
	start := time.Now()
	if err := seedInBulk(ctx, db, seed, tables, fill); err != nil {
		db.Close()
		return nil, "", fmt.Errorf("seed %s: %w", seed, err)
	}
	e.logf("%s: seeded in %s", seed, time.Since(start).Round(time.Millisecond))
	return db, dbURL, nil
}

// namedStore opens (creating it if need be) the database name, kept after
// the run, and migrates it.
func (e *env) namedStore(ctx context.Context, name string) (*store.DB, string, error) {
	conn, err := pgx.Connect(ctx, e.settings.AdminURL)
	if err != nil {
		return nil, "", fmt.Errorf("connect to the admin database: %w", err)
	}
	var exists bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists)
	if err == nil && !exists {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	}
	conn.Close(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("database %s: %w", name, err)
	}
	dbURL := databaseURL(e.settings.AdminURL, name)
	db, err := openMigrated(ctx, dbURL, store.Options{MaxConns: 4})
	return db, dbURL, err
}

// seedInBulk runs fill in one transaction: it drops the secondary indexes
// (those backing no constraint) and the foreign keys of tables, runs fill,
// builds them again (which checks every foreign key in one pass), and
// records the seed; then it vacuums and analyzes the tables, as a database
// that has lived with its rows would be.
func seedInBulk(ctx context.Context, db *store.DB, seed string, tables []string, fill string) error {
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	var rebuild []string
	rows, err := tx.Query(ctx, `
		SELECT format('DROP INDEX %s', ix.indexrelid::regclass), pg_get_indexdef(ix.indexrelid)
		FROM pg_index ix
		WHERE ix.indrelid = ANY($1::text[]::regclass[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
		UNION ALL
		SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
		       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
		FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = ANY($1::text[]::regclass[])`, tables)
	if err != nil {
		return err
	}
	var drops []string
	for rows.Next() {
		var drop, create string
		if err := rows.Scan(&drop, &create); err != nil {
			return err
		}
		drops, rebuild = append(drops, drop), append(rebuild, create)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	steps := []string{`SET LOCAL maintenance_work_mem = '256MB'`}
	steps = append(steps, drops...)
	steps = append(steps, fill)
	steps = append(steps, rebuild...)
	steps = append(steps, `CREATE TABLE `+seededMarker+` (seed text NOT NULL)`)
	for _, s := range steps {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("%.80s: %w", s, err)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+seededMarker+` (seed) VALUES ($1)`, seed); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	for _, t := range tables {
		if _, err := db.Pool().Exec(ctx, `VACUUM ANALYZE `+pgx.Identifier{t}.Sanitize()); err != nil {
			return err
		}
	}
	return nil
}
