package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/rolegate/rolegate/migrations"
)

// migrationLockID is the advisory lock key every rolegate instance takes
// before migrating, so instances starting together apply each migration once.
const migrationLockID int64 = 0x726f6c6567617465 // "rolegate"

// ErrSchemaUnknown: the database was migrated by a newer rolegate than this
// binary; serving would risk writing rows the schema no longer allows.
var ErrSchemaUnknown = errors.New("database schema is newer than this rolegate knows")

// ErrSchemaPending: migrations are waiting to be applied.
var ErrSchemaPending = errors.New("database schema has pending migrations")

// MigrationState is one migration as `rolegate migrate status` shows it.
type MigrationState struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// blockingLocker takes a session-level advisory lock and waits for it
// (goose's own locker polls every five seconds, which slows every start).
type blockingLocker struct{}

func (blockingLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID)
	return err
}

func (blockingLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", migrationLockID)
	return err
}

// withProvider runs f with a goose provider of rolegate's migrations over
// the pool; locked makes goose itself take the advisory lock. It returns
// the error of loading the migrations, or f's.
func (db *DB) withProvider(logger *slog.Logger, locked bool, f func(p *goose.Provider) error) error {
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	defer sqlDB.Close()
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if locked {
		opts = append(opts, goose.WithSessionLocker(blockingLocker{}))
	}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS, opts...)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	return f(p)
}

// Migrate applies every pending migration — rolegate's own, then the job
// queue's (River) — under one advisory lock, and returns the versions of
// rolegate's it applied (none when another instance already did). It
// returns ErrSchemaUnknown when the database is ahead of this binary.
func (db *DB) Migrate(ctx context.Context, logger *slog.Logger) ([]int64, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, interpret(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
		return nil, fmt.Errorf("take the migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockID) //nolint:errcheck // the session ends with the connection anyway

	var applied []int64
	err = db.withProvider(logger, false, func(p *goose.Provider) error {
		if err := checkKnown(ctx, p); err != nil {
			return err
		}
		results, err := p.Up(ctx)
		if err != nil {
			return fmt.Errorf("apply migrations: %w", err)
		}
		applied = make([]int64, 0, len(results))
		for _, r := range results {
			applied = append(applied, r.Source.Version)
		}
		migrator, err := rivermigrate.New(riverpgxv5.New(db.pool), nil)
		if err != nil {
			return fmt.Errorf("job queue migrations: %w", err)
		}
		if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("apply job queue migrations: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := db.readInstallation(ctx); err != nil {
		return applied, err
	}
	return applied, nil
}

// MigrateDown rolls back the most recent of rolegate's migrations. Tests
// use it to prove every migration can be undone and re-applied.
func (db *DB) MigrateDown(ctx context.Context) error {
	return db.withProvider(nil, true, func(p *goose.Provider) error {
		if _, err := p.Down(ctx); err != nil {
			return fmt.Errorf("roll back migration: %w", err)
		}
		return nil
	})
}

// MigrationStatus lists every migration this binary knows, applied or not.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	var out []MigrationState
	err := db.withProvider(nil, false, func(p *goose.Provider) error {
		st, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("read migration status: %w", err)
		}
		out = make([]MigrationState, 0, len(st))
		for _, s := range st {
			out = append(out, MigrationState{
				Version:   s.Source.Version,
				Name:      s.Source.Path,
				Applied:   s.State == goose.StateApplied,
				AppliedAt: s.AppliedAt,
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SchemaCurrent returns nil when the database holds exactly the migrations
// this binary knows, ErrSchemaPending when some are missing and
// ErrSchemaUnknown when it is ahead.
func (db *DB) SchemaCurrent(ctx context.Context) error {
	return db.withProvider(nil, false, func(p *goose.Provider) error {
		if err := checkKnown(ctx, p); err != nil {
			return err
		}
		pending, err := p.HasPending(ctx)
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if pending {
			return ErrSchemaPending
		}
		return nil
	})
}

func checkKnown(ctx context.Context, p *goose.Provider) error {
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	srcs := p.ListSources()
	if len(srcs) > 0 && current > srcs[len(srcs)-1].Version {
		return fmt.Errorf("%w (database at version %d, this binary knows up to %d)",
			ErrSchemaUnknown, current, srcs[len(srcs)-1].Version)
	}
	return nil
}
