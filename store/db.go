// Package store keeps rolegate's requests, decisions and audit trail in
// PostgreSQL through pgx. Every multi-step change runs in one transaction;
// state changes are guarded in SQL so concurrent callers cannot both win.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/rolegate/rolegate/provision"
)

// DB is the connection pool and the entry point of every store function.
type DB struct {
	pool     *pgxpool.Pool
	now      func() time.Time
	rules    ApprovalRules
	settings provision.Settings
	webhooks []string
	// river inserts jobs inside the store's transactions; it runs none.
	river *river.Client[pgx.Tx]
}

// Options tune Open. The zero value is usable.
type Options struct {
	// MaxConns caps the pool; 0 keeps pgx's default (max(4, CPUs)).
	MaxConns int32
	// ConnectTimeout bounds the first connection; default 5 seconds.
	ConnectTimeout time.Duration
	// Now is the clock used for timestamps the store writes; default time.Now.
	Now func() time.Time
	// Rules decide how many approvals a request needs and from whom.
	Rules ApprovalRules
	// Settings are the guardrails every spec is validated against;
	// the zero value means provision.DefaultSettings().
	Settings *provision.Settings
	// Webhooks are URLs notified of request events, by River jobs.
	Webhooks []string
}

// querier is what both the pool and a transaction offer; helpers take it so
// they run inside whichever the public function opened.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Open parses url, connects and pings the database. It returns an error
// naming DATABASE_URL when the URL cannot be parsed, and the server's own
// reason when it cannot connect within the timeout.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message repeats the URL, password included: never show it.
		return nil, errors.New("cannot parse the database URL (want postgres://user@host:port/db or key=value form)")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	timeout := opts.ConnectTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	cfg.ConnConfig.ConnectTimeout = timeout
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %w", describe(cfg.ConnConfig), unwrapConnect(err))
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	settings := provision.DefaultSettings()
	if opts.Settings != nil {
		settings = *opts.Settings
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("job queue client: %w", err)
	}
	return &DB{pool: pool, now: now, rules: opts.Rules.withDefaults(), settings: settings,
		webhooks: opts.Webhooks, river: rc}, nil
}

// describe names the server without credentials.
func describe(c *pgx.ConnConfig) string {
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}

// unwrapConnect keeps the server's reason and drops pgx's wrapping, which
// may contain the connection string.
func unwrapConnect(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return errors.New(pgErr.Message)
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) && connErr.Unwrap() != nil {
		err = connErr.Unwrap()
	}
	// One attempt per resolved address, one line each: the first says it.
	first, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(first)
}

// Settings returns the guardrails specs are validated against.
func (db *DB) Settings() provision.Settings { return db.settings }

// Rules returns the approval rules.
func (db *DB) Rules() ApprovalRules { return db.rules }

// Now returns the store's clock reading.
func (db *DB) Now() time.Time { return db.now() }

// Pool exposes the pool for the job queue and metrics, which share it.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Ping checks the database answers within ctx.
func (db *DB) Ping(ctx context.Context) error { return db.pool.Ping(ctx) }

// Close waits for borrowed connections to be returned and closes the pool.
func (db *DB) Close() { db.pool.Close() }

// inTx runs fn in a transaction, committing when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return interpret(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return interpret(tx.Commit(ctx))
}
