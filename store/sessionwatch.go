package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// sessionsChannel is where every change to web_sessions is named when it
// commits (migration 23): the session's hashed ID in hex, or "*" for all.
const sessionsChannel = "rolegate_sessions"

// tokensChannel is where every change to an API token that matters to a
// check is named when it commits (migration 24): its ID, or "*" for all.
const tokensChannel = "rolegate_tokens"

// sessionWatcherName is the listening connection's application_name, as
// pg_stat_activity shows it.
const sessionWatcherName = "rolegate session watcher"

// sessionCheckPrefix starts the payload of a watcher's own check, which
// names no session.
const sessionCheckPrefix = "check:"

// sessionWatchTimes are how often the watcher proves it still hears
// changes, how long the proof may take, and the longest wait before
// listening again after a failure. Tests shorten them.
type sessionWatchTimes struct {
	checkEvery, checkWithin, maxBackoff time.Duration
}

// heardFor is how long a heard check keeps memory on: until the next
// check should have been heard. A listener that hangs without an error
// (a half-open connection) turns memory off by itself within it.
func (t sessionWatchTimes) heardFor() time.Duration { return t.checkEvery + t.checkWithin }

var defaultSessionWatchTimes = sessionWatchTimes{checkEvery: 2 * time.Second, checkWithin: 2 * time.Second, maxBackoff: 30 * time.Second}

// SessionsRemembered reports whether LookupSession may answer from
// memory: WatchSessions runs and heard its last check.
func (db *DB) SessionsRemembered() bool {
	db.sessions.mu.Lock()
	defer db.sessions.mu.Unlock()
	return db.sessions.onLocked()
}

// WatchSessions lets LookupSession answer from memory, for as long as ctx
// lasts and a connection of its own (beside the pool) hears every change
// to the sessions: signing out, or ending a user's sessions, on any server
// or from the command line, reaches each server's memory when it commits.
// Every 2 seconds it proves it still hears: the triggers that announce
// the changes must be in place and enabled, and a check it sends must
// come back within 2 seconds (the first through the pool, which a
// connection pooler that drops notifications never passes). Memory stays
// on only until the next check is due and heard, so a listener that hangs
// silently turns it off within 4 seconds. While it does not hear, every lookup reads the database;
// failures are logged, and it listens again after a pause that doubles up
// to 30 seconds.
func (db *DB) WatchSessions(ctx context.Context, log *slog.Logger) {
	db.watchSessions(ctx, log, defaultSessionWatchTimes)
}

func (db *DB) watchSessions(ctx context.Context, log *slog.Logger, t sessionWatchTimes) {
	defer db.sessions.reset(time.Time{})
	first := min(time.Second, t.maxBackoff)
	pause := first
	for ctx.Err() == nil {
		heard, err := db.listenSessions(ctx, log, t)
		db.sessions.reset(time.Time{})
		if ctx.Err() != nil {
			return
		}
		if heard {
			pause = first
		}
		log.Warn("not hearing changes to sessions; every page reads its session from the database until this is back",
			"err", err, "retry_in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, t.maxBackoff)
	}
}

// listenSessions connects, listens and applies changes until the
// connection fails, a check goes unheard or ctx ends. heard is whether a
// check was heard at all (caching was on).
func (db *DB) listenSessions(ctx context.Context, log *slog.Logger, t sessionWatchTimes) (heard bool, err error) {
	cfg := db.pool.Config().ConnConfig.Copy()
	cfg.Tracer = nil
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = sessionWatcherName
	// An idle wait that ends is not an error: stop the read at a deadline
	// instead of asking the server to cancel a query that is not running.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+sessionsChannel+"; LISTEN "+tokensChannel); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	for {
		if err := db.checkHeard(ctx, conn, t.checkWithin, !heard); err != nil {
			return heard, err
		}
		until := time.Now().Add(t.heardFor())
		if !heard {
			// Forget anything read before this point: a change to it
			// may have gone unheard.
			db.sessions.reset(until)
			heard = true
			log.Info("hearing changes to sessions; sessions read in the last 30s are answered from memory")
		} else {
			db.sessions.heard(until)
		}
		if err := db.applyChanges(ctx, conn, t.checkEvery); err != nil {
			return heard, err
		}
	}
}

// checkHeard confirms that the triggers announcing changes to sessions are
// in place and enabled, sends a check and applies changes until the check
// comes back, or fails after within. The first check on a connection goes
// through the pool, as the changes do: a pooler that drops notifications
// fails it. Later ones go on the listening connection itself, proving it
// alive without waiting for a busy pool.
func (db *DB) checkHeard(ctx context.Context, conn *pgx.Conn, within time.Duration, viaPool bool) error {
	nonce, err := randomSecret()
	if err != nil {
		return err
	}
	want := sessionCheckPrefix + nonce
	checkCtx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var triggers int
	if err := conn.QueryRow(checkCtx, `SELECT count(*) FROM pg_trigger
		WHERE tgrelid = 'web_sessions'::regclass AND tgname IN ('web_sessions_changed', 'web_sessions_truncated')
		AND tgenabled IN ('O', 'A')`).Scan(&triggers); err != nil {
		return fmt.Errorf("read the triggers: %w", interpret(err))
	}
	if triggers != 2 {
		return errors.New("the triggers announcing changes to web_sessions are missing or disabled (migration 23)")
	}
	send := `SELECT pg_notify($1, $2)`
	if viaPool {
		_, err = db.pool.Exec(checkCtx, send, sessionsChannel, want)
	} else {
		_, err = conn.Exec(checkCtx, send, sessionsChannel, want)
	}
	if err != nil {
		return fmt.Errorf("send a check: %w", interpret(err))
	}
	for {
		n, err := conn.WaitForNotification(checkCtx)
		if err != nil {
			if ctx.Err() == nil && errors.Is(checkCtx.Err(), context.DeadlineExceeded) {
				if viaPool {
					return fmt.Errorf("a check sent through the pool did not come back to the listening connection within %s", within)
				}
				return fmt.Errorf("the listening connection did not answer its own check within %s", within)
			}
			return err
		}
		if n.Payload == want {
			return nil
		}
		db.notified(n)
	}
}

// applyChanges applies changes as they arrive, for d.
func (db *DB) applyChanges(ctx context.Context, conn *pgx.Conn, d time.Duration) error {
	waitCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		n, err := conn.WaitForNotification(waitCtx)
		if err != nil {
			if ctx.Err() == nil && errors.Is(waitCtx.Err(), context.DeadlineExceeded) {
				return nil
			}
			return err
		}
		db.notified(n)
	}
}

// notified applies one notification: a change to a session, or to an API
// token (handed to the OnTokenChanged functions); other watchers' checks
// change nothing.
func (db *DB) notified(n *pgconn.Notification) {
	switch {
	case n.Channel == tokensChannel:
		id, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil || id <= 0 {
			id = 0 // "*", or anything unreadable: all of them
		}
		db.tokenChanged(id)
	case strings.HasPrefix(n.Payload, sessionCheckPrefix):
	default:
		db.sessions.changed(n.Payload)
	}
}

// OnTokenChanged has fn called with an API token's ID when a change to it
// that matters to a check (revoked, narrowed, its expiry or owner changed,
// deleted) is heard by WatchSessions, or with 0 when all of them may have
// changed. The API's token cache forgets the token then, instead of
// within its second.
func (db *DB) OnTokenChanged(fn func(id int64)) {
	db.tokenHooks.Lock()
	defer db.tokenHooks.Unlock()
	db.tokenHooks.fns = append(db.tokenHooks.fns, fn)
}

func (db *DB) tokenChanged(id int64) {
	db.tokenHooks.Lock()
	fns := slices.Clone(db.tokenHooks.fns)
	db.tokenHooks.Unlock()
	for _, fn := range fns {
		fn(id)
	}
}
