package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// sessionsChannel is where every change to web_sessions is named when it
// commits (migration 23): the session's hashed ID in hex, or "*" for all.
const sessionsChannel = "rolegate_sessions"

// sessionCheckPrefix starts the payload of a watcher's own check, which
// names no session.
const sessionCheckPrefix = "check:"

const (
	// sessionCacheTTL bounds how long a remembered session is used
	// without reading it again, even while changes are heard: a backstop
	// for a change that names nothing (a restored backup).
	sessionCacheTTL = 30 * time.Second
	// sessionCacheMax bounds the sessions remembered; past it the memory
	// starts again, which costs one read per session.
	sessionCacheMax = 10_000
)

// sessionWatchTimes are how often the watcher proves it still hears
// changes, how long the proof may take, and the longest wait before
// listening again after a failure. Tests shorten them.
type sessionWatchTimes struct {
	checkEvery, checkWithin, maxBackoff time.Duration
}

var defaultSessionWatchTimes = sessionWatchTimes{checkEvery: 10 * time.Second, checkWithin: 5 * time.Second, maxBackoff: 30 * time.Second}

// sessionCache holds sessions LookupSession read, used only while a
// watcher hears every change to them (on).
type sessionCache struct {
	mu sync.Mutex
	on bool
	m  map[[32]byte]cachedSession
	// gen counts forgets: a read that began before one is not kept, as
	// it may have read what the forget was for.
	gen uint64
}

type cachedSession struct {
	s Session
	// read is when the read began: the entry counts from then.
	read time.Time
}

// get returns the session remembered for key, when caching is on, it was
// read less than sessionCacheTTL ago and it has not expired since. The
// caller gets its own copy of the lists.
func (c *sessionCache) get(key [32]byte, now time.Time) (Session, bool) {
	c.mu.Lock()
	e, ok := c.m[key]
	on := c.on
	c.mu.Unlock()
	if !on || !ok || now.Before(e.read) || now.Sub(e.read) >= sessionCacheTTL || !now.Before(e.s.ExpiresAt) {
		return Session{}, false
	}
	s := e.s
	s.Roles, s.Groups = slices.Clone(s.Roles), slices.Clone(s.Groups)
	return s, true
}

// begin marks the start of a read: the forgets so far, and whether its
// result may be kept at all.
func (c *sessionCache) begin() (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen, c.on
}

// put remembers s as read at read, unless something was forgotten (or
// the watcher stopped or started) since the read began.
func (c *sessionCache) put(key [32]byte, s Session, read time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || !c.on {
		return
	}
	if c.m == nil || len(c.m) >= sessionCacheMax {
		c.m = map[[32]byte]cachedSession{}
	}
	s.Roles, s.Groups = slices.Clone(s.Roles), slices.Clone(s.Groups)
	c.m[key] = cachedSession{s: s, read: read}
}

// forget drops the sessions matching drop.
func (c *sessionCache) forget(drop func([32]byte, Session) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.m {
		if drop(k, e.s) {
			delete(c.m, k)
		}
	}
}

// reset forgets every session and turns caching on or off.
func (c *sessionCache) reset(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
	c.on = on
}

// changed applies a notification's payload: one session's hashed ID in
// hex, or "*" for all. Anything else it cannot read forgets all, to be
// safe.
func (c *sessionCache) changed(payload string) {
	key, err := hex.DecodeString(payload)
	if payload == "*" || err != nil || len(key) != 32 {
		c.forget(func([32]byte, Session) bool { return true })
		return
	}
	c.forget(func(k [32]byte, _ Session) bool { return k == [32]byte(key) })
}

// forgetSession drops the session with hashed ID h from this process's
// memory: the change that called it is heard by every watcher too, but
// this process's next request must not wait for that.
func (db *DB) forgetSession(h []byte) {
	db.sessions.forget(func(k [32]byte, _ Session) bool { return k == [32]byte(h) })
}

// forgetUserSessions drops every remembered session of user.
func (db *DB) forgetUserSessions(user string) {
	db.sessions.forget(func(_ [32]byte, s Session) bool { return s.User == user })
}

// SessionsRemembered reports whether LookupSession may answer from
// memory: WatchSessions runs and hears every change to the sessions.
func (db *DB) SessionsRemembered() bool {
	_, on := db.sessions.begin()
	return on
}

// WatchSessions lets LookupSession answer from memory, for as long as ctx
// lasts and a connection of its own (beside the pool) hears every change
// to the sessions: signing out, or ending a user's sessions, on any server
// or from the command line, reaches each server's memory when it commits.
// Every checkEvery it proves it still hears: a check sent through the pool
// must arrive within checkWithin (a connection pooler that drops
// notifications never passes). While it does not hear, memory is off and
// every lookup reads the database; failures are logged, and it listens
// again after a pause that doubles up to 30 seconds.
func (db *DB) WatchSessions(ctx context.Context, log *slog.Logger) {
	db.watchSessions(ctx, log, defaultSessionWatchTimes)
}

func (db *DB) watchSessions(ctx context.Context, log *slog.Logger, t sessionWatchTimes) {
	defer db.sessions.reset(false)
	first := min(time.Second, t.maxBackoff)
	pause := first
	for ctx.Err() == nil {
		heard, err := db.listenSessions(ctx, t)
		db.sessions.reset(false)
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
func (db *DB) listenSessions(ctx context.Context, t sessionWatchTimes) (heard bool, err error) {
	cfg := db.pool.Config().ConnConfig.Copy()
	cfg.Tracer = nil
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
	if _, err := conn.Exec(ctx, "LISTEN "+sessionsChannel); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	for {
		if err := db.checkHeard(ctx, conn, t.checkWithin); err != nil {
			return heard, err
		}
		if !heard {
			// Forget anything read before this point: a change to it
			// may have gone unheard.
			db.sessions.reset(true)
			heard = true
		}
		if err := db.applyChanges(ctx, conn, t.checkEvery); err != nil {
			return heard, err
		}
	}
}

// checkHeard sends a check of its own through the pool and applies
// changes until it arrives, or fails after within.
func (db *DB) checkHeard(ctx context.Context, conn *pgx.Conn, within time.Duration) error {
	nonce, err := randomSecret()
	if err != nil {
		return err
	}
	want := sessionCheckPrefix + nonce
	checkCtx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if _, err := db.pool.Exec(checkCtx, `SELECT pg_notify($1, $2)`, sessionsChannel, want); err != nil {
		return fmt.Errorf("send a check: %w", interpret(err))
	}
	for {
		n, err := conn.WaitForNotification(checkCtx)
		if err != nil {
			if ctx.Err() == nil && errors.Is(checkCtx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("a check sent through the pool did not arrive within %s", within)
			}
			return err
		}
		if n.Payload == want {
			return nil
		}
		db.notified(n.Payload)
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
		db.notified(n.Payload)
	}
}

// notified applies one payload on the channel; other watchers' checks
// change nothing.
func (db *DB) notified(payload string) {
	if len(payload) > len(sessionCheckPrefix) && payload[:len(sessionCheckPrefix)] == sessionCheckPrefix {
		return
	}
	db.sessions.changed(payload)
}
