package api

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/rolegate/rolegate/store"
)

// tokenCacheTTL is how long a checked token is trusted without asking the
// database again. A revocation on the settings page of this process takes
// effect at once; one made elsewhere (another instance, the command line)
// as soon as the session watcher hears it (Mount), and within this time
// when it does not.
const tokenCacheTTL = time.Second

// tokenCacheMax bounds the tokens remembered; past it the memory starts
// again, which costs one database read per token.
const tokenCacheMax = 10_000

// TokenCache remembers, for a second, tokens the database accepted: a busy
// client then costs one token read a second rather than one per call.
// Entries are keyed by the SHA-256 of the whole secret, so only the exact
// token that was checked is accepted; refusals are never remembered.
type TokenCache struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[[32]byte]cachedToken
	// gen counts forgets: a check that began before one is not kept, as
	// it may have read what the forget was for.
	gen uint64
}

type cachedToken struct {
	tok     store.Token
	checked time.Time
}

// NewTokenCache returns an empty cache reading the clock now.
func NewTokenCache(now func() time.Time) *TokenCache {
	return &TokenCache{now: now, m: map[[32]byte]cachedToken{}}
}

// get returns the token for secret when it was accepted less than
// tokenCacheTTL ago and has not expired since.
func (c *TokenCache) get(secret string) (store.Token, bool) {
	key := sha256.Sum256([]byte(secret))
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || now.Sub(e.checked) >= tokenCacheTTL || now.Before(e.checked) ||
		(e.tok.ExpiresAt != nil && !now.Before(*e.tok.ExpiresAt)) {
		return store.Token{}, false
	}
	return e.tok, true
}

// checkStarts marks the start of a database check: its time, from which
// the entry counts, and the forgets so far.
func (c *TokenCache) checkStarts() (time.Time, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now(), c.gen
}

// put remembers t as checked at started, unless something was forgotten
// since the check began.
func (c *TokenCache) put(secret string, t store.Token, started time.Time, gen uint64) {
	key := sha256.Sum256([]byte(secret))
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= tokenCacheMax {
		clear(c.m)
	}
	c.m[key] = cachedToken{tok: t, checked: started}
}

// Forget drops the tokens matching drop, so a revocation or narrowing made
// in this process applies to the next call.
func (c *TokenCache) Forget(drop func(store.Token) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.m {
		if drop(e.tok) {
			delete(c.m, k)
		}
	}
}
