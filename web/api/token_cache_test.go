package api

import (
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
)

// A check that began before a forget (a revocation or narrowing in this
// process) is not kept: it may have read the token as it was before.
func TestTokenCacheDropsChecksOverlappingAForget(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewTokenCache(func() time.Time { return now })
	tok := store.Token{ID: 7, User: "alice"}

	started, gen := c.checkStarts()
	c.Forget(func(t store.Token) bool { return t.ID == 7 }) // the revocation commits meanwhile
	c.put("rgt_7_secret", tok, started, gen)
	if _, ok := c.get("rgt_7_secret"); ok {
		t.Fatal("a check overlapping a forget was remembered")
	}

	// An entry counts from when its check began, not when it ended.
	started, gen = c.checkStarts()
	now = now.Add(900 * time.Millisecond) // a slow check
	c.put("rgt_7_secret", tok, started, gen)
	if _, ok := c.get("rgt_7_secret"); !ok {
		t.Fatal("a fresh check was not remembered")
	}
	now = now.Add(100 * time.Millisecond)
	if _, ok := c.get("rgt_7_secret"); ok {
		t.Fatal("remembered for longer than a second after its check began")
	}
	// Another secret is never answered from the entry.
	started, gen = c.checkStarts()
	c.put("rgt_7_secret", tok, started, gen)
	if _, ok := c.get("rgt_7_other"); ok {
		t.Fatal("another secret was answered from the cache")
	}
}
