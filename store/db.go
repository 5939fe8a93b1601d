// Package store keeps rolegate's requests, decisions and audit trail in
// PostgreSQL through pgx. Every multi-step change runs in one transaction;
// state changes are guarded in SQL so concurrent callers cannot both win.
package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
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
	risks    provision.RiskThresholds
	webhooks []string
	reviews  ReviewPolicy
	// river inserts jobs inside the store's transactions; it runs none.
	river *river.Client[pgx.Tx]
	// search caches the statistics free-text search plans with.
	search searchStats
	// sessions remembers sessions read while WatchSessions hears their
	// changes.
	sessions sessionCache
	// tokenHooks are called when WatchSessions hears an API token change.
	tokenHooks struct {
		sync.Mutex
		fns []func(id int64)
	}
	// installation is the database's installation row (Installation,
	// AdoptsUpTo), nil until it is read.
	installation atomic.Pointer[installation]
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
	// Reviews is the access review policy; the zero value turns reviews
	// off.
	Reviews ReviewPolicy
	// Risks are the thresholds of the risk flags (Assess); zero fields
	// take provision.DefaultRiskThresholds'.
	Risks provision.RiskThresholds
	// JobAttempts is how many times River runs each job the store inserts
	// (provisioning, revocation, webhook delivery) before giving up; 0
	// means 10, the worker's default. Set it to the worker's MaxAttempts
	// (--job-attempts): River keeps the count with the job, so the
	// inserting side decides it.
	JobAttempts int
}

// querier is what both the pool and a transaction offer; helpers take it so
// they run inside whichever the public function opened.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// queryAll runs a query and reads every row with scan, which interprets
// its own errors. It returns nil when there are no rows.
func queryAll[T any](ctx context.Context, q querier, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, interpret(rows.Err())
}

// textArray is list as a text[] argument: empty, never NULL, when nil.
func textArray(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// randomSecret returns 32 random bytes in URL-safe base64: a session ID or
// a token secret.
func randomSecret() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
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
	reset := &resetOnDisconnect{}
	cfg.ConnConfig.Tracer = reset
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	reset.pool.Store(pool)
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
	attempts := opts.JobAttempts
	if attempts <= 0 {
		attempts = 10
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{MaxAttempts: attempts})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("job queue client: %w", err)
	}
	rules := opts.Rules.withDefaults()
	if rules.Accounts == nil {
		// The rules know the accounts the settings do.
		rules.Accounts = settings.Accounts
	}
	db := &DB{pool: pool, now: now, rules: rules, settings: settings, risks: opts.Risks.WithDefaults(),
		webhooks: opts.Webhooks, reviews: opts.Reviews, river: rc}
	if err := db.readInstallation(pingCtx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// resetOnDisconnect empties the pool when a query finds its connection
// gone: after a server restart or a mass termination every idle connection
// is dead too, and handing them out one by one would fail a request each.
type resetOnDisconnect struct {
	pool atomic.Pointer[pgxpool.Pool]
}

func (r *resetOnDisconnect) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (r *resetOnDisconnect) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	// A query its caller gave up on says nothing about the server.
	if data.Err != nil && ctx.Err() == nil && unavailable(data.Err) {
		if p := r.pool.Load(); p != nil {
			// Reset waits on the pool's lock; the query's goroutine must
			// not, as it may hold a connection Reset is closing.
			go p.Reset()
		}
	}
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

// Settings returns the guardrails specs are validated against, with the
// database's installation ID (Installation), which every plan tags its
// role and instance profile with, and the last request that may own one
// without the tag (AdoptsUpTo).
func (db *DB) Settings() provision.Settings {
	s := db.settings
	s.Installation, s.AdoptsUpTo = db.Installation(), db.AdoptsUpTo()
	return s
}

// RiskThresholds returns the thresholds of the risk flags.
func (db *DB) RiskThresholds() provision.RiskThresholds { return db.risks }

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

// txAttempts is how often inTx runs a transaction whose connection broke
// before it tried to commit.
const txAttempts = 3

// inTx runs fn in a transaction, committing when fn returns nil. When the
// connection breaks before the commit (the server restarted, the backend
// was terminated), nothing was written, so it runs fn again on a fresh
// connection; a break during the commit itself is ambiguous and returned
// as ErrUnavailable. fn must only work through tx.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		committing, err := db.tryTx(ctx, fn)
		if err == nil || committing || attempt == txAttempts || !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			return err
		}
	}
}

// oneStatement runs fn, which must issue exactly one statement through q
// and return a broken connection's error as pgx gave it, outside an
// explicit transaction: the statement commits on its own, which saves the
// round trips of BEGIN and COMMIT. When the connection breaks before the
// statement was sent, it runs fn again. When it breaks after, the
// statement may have committed: fn runs again, and if that fails (say, on
// the unique key the first attempt wrote), written tells whether the first
// attempt's write is there, so the caller gets its result rather than an
// error. A break on the last attempt is ErrUnavailable.
func (db *DB) oneStatement(ctx context.Context, fn func(q querier) error, written func() (bool, error)) error {
	ambiguous := false
	for attempt := 1; ; attempt++ {
		err := fn(db.pool)
		if err != nil && ambiguous && !unavailable(err) {
			ok, werr := written()
			switch {
			case werr != nil && unavailable(werr):
				// Whether the first attempt wrote is unknown: say so
				// rather than report err, which may be about that write.
				return interpret(werr)
			case werr != nil:
				// err may be the first attempt's own write meeting the
				// retry: the outcome is unknown.
				return errorf(KindUnavailable, "whether an earlier attempt wrote is unknown: %v (the retry said: %v)", werr, err)
			case ok:
				return nil
			}
		}
		if err == nil || !unavailable(err) {
			return err
		}
		if attempt == txAttempts || ctx.Err() != nil {
			return interpret(err)
		}
		ambiguous = ambiguous || !pgconn.SafeToRetry(err)
	}
}

// endTxTimeout bounds COMMIT and ROLLBACK, which run on a context of their
// own: a request's deadline that passes just as fn returns must not stop
// the commit half-way (the caller told "timed out" while the write
// stands, or the other way round), nor leave the rollback undone.
const endTxTimeout = 5 * time.Second

func (db *DB) tryTx(ctx context.Context, fn func(tx pgx.Tx) error) (committing bool, err error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return false, interpret(err)
	}
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endTxTimeout)
	defer cancel()
	defer tx.Rollback(endCtx) //nolint:errcheck // no-op after Commit
	if err := fn(tx); err != nil {
		var se *Error
		if !errors.As(err, &se) && (timedOut(err) || unavailable(err)) {
			err = interpret(err)
		}
		return false, err
	}
	return true, interpret(tx.Commit(endCtx))
}
