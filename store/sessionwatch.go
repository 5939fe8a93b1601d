package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

const (
	// sessionCacheTTL bounds how long a remembered session is used
	// without reading it again, even while changes are heard: a backstop
	// for a change that names nothing (a restored backup).
	sessionCacheTTL = 30 * time.Second
	// sessionCacheMax bounds the sessions remembered; past it the memory
	// starts again, which costs one read per session.
	sessionCacheMax = 10_000
	// sessionCacheMaxGroups bounds the bytes of group names one remembered
	// session may hold (the identity provider's groups have no limit of
	// their own); a session with more is read every time instead.
	sessionCacheMaxGroups = 16 << 10
)

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

// sessionCache holds sessions LookupSession read, used only while a
// watcher hears every change to them: until heardUntil, a time on the
// process's own clock, never a test's.
type sessionCache struct {
	mu         sync.Mutex
	heardUntil time.Time
	m          map[[32]byte]cachedSession
	// gen counts forgets: a read that began before one is not kept, as
	// it may have read what the forget was for.
	gen uint64
	// fromMemory and fromDatabase count the lookups answered each way,
	// for the metrics.
	fromMemory, fromDatabase atomic.Uint64
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
	on := c.onLocked()
	c.mu.Unlock()
	if !on || !ok || now.Before(e.read) || now.Sub(e.read) >= sessionCacheTTL || !now.Before(e.s.ExpiresAt) {
		return Session{}, false
	}
	s := e.s
	s.Roles, s.Groups = slices.Clone(s.Roles), slices.Clone(s.Groups)
	return s, true
}

// onLocked reports whether memory is on; c.mu is held.
func (c *sessionCache) onLocked() bool { return time.Now().Before(c.heardUntil) }

// begin marks the start of a read: the forgets so far, and whether its
// result may be kept at all.
func (c *sessionCache) begin() (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen, c.onLocked()
}

// put remembers s as read at read, unless something was forgotten (or
// the watcher stopped or started) since the read began.
func (c *sessionCache) put(key [32]byte, s Session, read time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || !c.onLocked() || groupBytes(s.Groups) > sessionCacheMaxGroups {
		return
	}
	if c.m == nil || len(c.m) >= sessionCacheMax {
		c.m = map[[32]byte]cachedSession{}
	}
	s.Roles, s.Groups = slices.Clone(s.Roles), slices.Clone(s.Groups)
	c.m[key] = cachedSession{s: s, read: read}
}

func groupBytes(groups []string) (n int) {
	for _, g := range groups {
		n += len(g)
	}
	return n
}

// forgetKey drops one session.
func (c *sessionCache) forgetKey(key [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, key)
}

// forgetUser drops every session of user.
func (c *sessionCache) forgetUser(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.m {
		if e.s.User == user {
			delete(c.m, k)
		}
	}
}

// reset forgets every session and turns memory off, or on until until.
func (c *sessionCache) reset(until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
	c.heardUntil = until
}

// heard keeps memory on until until, forgetting nothing.
func (c *sessionCache) heard(until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.heardUntil = until
}

// changed applies a notification's payload: one session's hashed ID in
// hex, or "*" for all. Anything else it cannot read forgets all, to be
// safe.
func (c *sessionCache) changed(payload string) {
	key, err := hex.DecodeString(payload)
	if payload == "*" || err != nil || len(key) != 32 {
		c.forgetAll()
		return
	}
	c.forgetKey([32]byte(key))
}

// forgetAll drops every session, leaving memory on or off.
func (c *sessionCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

// forgetSession drops the session with hashed ID h from this process's
// memory: the change that called it is heard by every watcher too, but
// this process's next request must not wait for that.
func (db *DB) forgetSession(h []byte) { db.sessions.forgetKey([32]byte(h)) }

// forgetUserSessions drops every remembered session of user.
func (db *DB) forgetUserSessions(user string) { db.sessions.forgetUser(user) }

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
