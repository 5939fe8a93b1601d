package store

import (
	"strings"
	"testing"
	"time"
)

// A read that was in flight when a change was heard is not remembered:
// it may have read the session just before the change committed.
func TestSessionReadDuringAChangeIsNotKept(t *testing.T) {
	var c sessionCache
	c.reset(time.Now().Add(time.Hour))
	now := time.Now()
	s := Session{User: "alice", Roles: []Role{RoleApprover}, ExpiresAt: now.Add(time.Hour)}
	key := [32]byte{1}

	gen, keep := c.begin()
	c.changed("0202020202020202020202020202020202020202020202020202020202020202") // another session
	c.put(key, s, now, gen)
	if _, ok := c.get(key, now); !keep || ok {
		t.Fatal("a read that overlapped a change was kept")
	}
	gen, _ = c.begin()
	c.put(key, s, now, gen)
	got, ok := c.get(key, now)
	if !ok || got.User != "alice" {
		t.Fatal("a read that overlapped nothing was not kept")
	}
	got.Roles[0] = RoleAdmin // the caller's copy
	if again, _ := c.get(key, now); again.Roles[0] != RoleApprover {
		t.Fatal("a caller changed the remembered session")
	}
	for _, payload := range []string{"*", "not hex", "0101"} {
		gen, _ = c.begin()
		c.put(key, s, now, gen)
		c.changed(payload)
		if _, ok := c.get(key, now); ok {
			t.Fatalf("payload %q left the session remembered", payload)
		}
	}
	big := s
	big.Groups = []string{strings.Repeat("g", sessionCacheMaxGroups+1)}
	gen, _ = c.begin()
	c.put(key, big, now, gen)
	if _, ok := c.get(key, now); ok {
		t.Fatal("a session with more than 16 KiB of groups was remembered")
	}
	gen, _ = c.begin()
	c.reset(time.Time{})
	c.put(key, s, now, gen)
	if _, ok := c.get(key, now); ok {
		t.Fatal("a session was remembered with the watcher stopped")
	}
}

// Memory lasts only until the next check was due: a watcher that hangs
// without an error (a half-open connection) stops vouching by itself.
func TestSessionMemoryEndsWhenNoCheckIsHeard(t *testing.T) {
	var c sessionCache
	c.reset(time.Now().Add(50 * time.Millisecond))
	now := time.Now()
	key := [32]byte{1}
	gen, _ := c.begin()
	c.put(key, Session{User: "alice", ExpiresAt: now.Add(time.Hour)}, now, gen)
	if _, ok := c.get(key, now); !ok {
		t.Fatal("not remembered while heard")
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, ok := c.get(key, now); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("memory stayed on with no check heard")
		}
	}
}
