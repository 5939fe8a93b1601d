package store

import (
	"encoding/hex"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The memory of sessions LookupSession read, used only while WatchSessions
// hears every change to them (sessionwatch.go).

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
