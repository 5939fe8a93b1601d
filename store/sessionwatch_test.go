package store_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// syncBuffer is a log both the watcher and the test use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// watching starts db's session watcher (a check every 50ms) until the
// test ends, and waits until it hears; its log is returned.
func watching(t *testing.T, db *store.DB) *syncBuffer {
	t.Helper()
	var log syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.WatchSessionsEvery(ctx, slog.New(slog.NewTextHandler(&log, nil)), 50*time.Millisecond, 5*time.Second)
	}()
	t.Cleanup(func() { cancel(); <-done })
	until(t, "the watcher hears changes", db.SessionsRemembered)
	return &log
}

// until polls cond until it holds, failing the test after 10 seconds
// (the cache's own limit is 30, so a change seen sooner was heard).
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// fromMemory reports whether db answers the session without the
// database: a lookup on a context already cancelled can only succeed so.
func fromMemory(db *store.DB, id string) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := db.LookupSession(ctx, id)
	return err == nil
}

func gone(db *store.DB, id string) func() bool {
	return func() bool {
		_, err := db.LookupSession(context.Background(), id)
		return errors.Is(err, store.ErrNotFound)
	}
}

// Two servers on one database: a sees every change b makes to a session
// it remembers, as b commits it, whichever way b makes it.
func TestSessionChangesElsewhereReachTheWatcher(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	url := storetest.URL(t)
	a, b := storetest.Open(t, url, store.Options{}), storetest.Open(t, url, store.Options{})
	if _, id := newSession(t, a, "dave", store.RoleRequester); fromMemory(a, id) {
		t.Fatal("a session was answered from memory before any watcher heard changes")
	}
	watching(t, a)
	remembered := func(user string, roles ...store.Role) string {
		t.Helper()
		_, id := newSession(t, b, user, roles...)
		if _, err := a.LookupSession(ctx, id); err != nil || !fromMemory(a, id) {
			t.Fatalf("a did not remember %s's session (err %v)", user, err)
		}
		if fromMemory(b, id) {
			t.Fatal("b, which watches nothing, answered from memory")
		}
		return id
	}

	id := remembered("alice", store.RoleRequester)
	if err := b.EndSession(ctx, id); err != nil {
		t.Fatal(err)
	}
	until(t, "a sees alice signed out on b", gone(a, id))

	id = remembered("bob", store.RoleRequester)
	if _, err := b.EndUserSessions(ctx, "bob", "carol"); err != nil {
		t.Fatal(err)
	}
	until(t, "a sees bob's sessions ended on b", gone(a, id))

	// A new sign-in with fewer roles narrows the user's other sessions.
	id = remembered("erin", store.RoleRequester, store.RoleApprover)
	newSession(t, b, "erin", store.RoleRequester)
	until(t, "a sees erin's session narrowed", func() bool {
		s, err := a.LookupSession(ctx, id)
		return err == nil && !s.Actor().Has(store.RoleApprover)
	})

	for _, sql := range []string{`DELETE FROM web_sessions WHERE user_name = 'frank'`, `TRUNCATE web_sessions`} {
		id = remembered("frank", store.RoleRequester)
		if _, err := b.Pool().Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
		until(t, "a sees frank's session gone by "+sql, gone(a, id))
	}
}

// On the server that ends or narrows a session, the next lookup sees it
// at once. No watcher runs (memory is turned on by hand), so nothing but
// the server's own forgetting can clear what it remembered.
func TestSessionChangedHereIsForgottenAtOnce(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	db := storetest.New(t)
	db.RememberWithoutWatching()
	for name, end := range map[string]func(id string) error{
		"sign-out":               func(id string) error { return db.EndSession(ctx, id) },
		"ending user's sessions": func(string) error { _, err := db.EndUserSessions(ctx, "alice", "carol"); return err },
	} {
		_, id := newSession(t, db, "alice", store.RoleRequester)
		if _, err := db.LookupSession(ctx, id); err != nil || !fromMemory(db, id) {
			t.Fatalf("%s: not remembered: %v", name, err)
		}
		if err := end(id); err != nil {
			t.Fatal(err)
		}
		if !gone(db, id)() {
			t.Fatalf("%s: the session was still answered on the server that ended it", name)
		}
	}
	_, id := newSession(t, db, "erin", store.RoleRequester, store.RoleApprover)
	if _, err := db.LookupSession(ctx, id); err != nil || !fromMemory(db, id) {
		t.Fatalf("not remembered: %v", err)
	}
	newSession(t, db, "erin", store.RoleRequester)
	if s, err := db.LookupSession(ctx, id); err != nil || s.Actor().Has(store.RoleApprover) {
		t.Fatalf("erin's older session after a sign-in without approver = %+v, %v; want it narrowed at once", s, err)
	}
}

// Memory turns off when the triggers that announce changes are disabled
// (as pg_restore --disable-triggers would leave them), and back on when
// they are enabled again.
func TestWatcherWantsTheTriggers(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	db := storetest.New(t)
	log := watching(t, db)
	if _, err := db.Pool().Exec(ctx, `ALTER TABLE web_sessions DISABLE TRIGGER web_sessions_changed`); err != nil {
		t.Fatal(err)
	}
	until(t, "memory turns off", func() bool { return !db.SessionsRemembered() })
	until(t, "the cause is logged", func() bool { return strings.Contains(log.String(), "missing or disabled") })
	if _, err := db.Pool().Exec(ctx, `ALTER TABLE web_sessions ENABLE TRIGGER web_sessions_changed`); err != nil {
		t.Fatal(err)
	}
	until(t, "memory turns on again", db.SessionsRemembered)
}

// A remembered session is read again after 30 seconds, and not answered
// past its expiry.
func TestRememberedSessionTimesOut(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	var offset atomic.Int64
	start := time.Now()
	db := storetest.Open(t, storetest.URL(t), store.Options{Now: func() time.Time { return start.Add(time.Duration(offset.Load())) }})
	watching(t, db)
	_, id := newSession(t, db, "alice", store.RoleRequester)
	if _, err := db.LookupSession(ctx, id); err != nil || !fromMemory(db, id) {
		t.Fatalf("not remembered: %v", err)
	}
	offset.Store(int64(30 * time.Second))
	if fromMemory(db, id) {
		t.Fatal("a session read 30s ago was answered from memory")
	}
	short, id := newSessionFor(t, db, "bob", time.Minute)
	if _, err := db.LookupSession(ctx, id); err != nil || !fromMemory(db, id) {
		t.Fatalf("not remembered: %v", err)
	}
	offset.Store(int64(short.ExpiresAt.Sub(start)))
	if !gone(db, id)() {
		t.Fatal("an expired session was answered")
	}
}

// A watcher whose connection is lost forgets everything it remembered
// (changes made meanwhile are not heard), reads the database until it
// listens again, and says so in the log.
func TestWatcherLosingItsConnectionForgets(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	url := storetest.URL(t)
	a, b := storetest.Open(t, url, store.Options{}), storetest.Open(t, url, store.Options{})
	log := watching(t, a)
	_, id := newSession(t, a, "alice", store.RoleRequester)
	if _, err := a.LookupSession(ctx, id); err != nil || !fromMemory(a, id) {
		t.Fatalf("not remembered: %v", err)
	}
	listener := func() (pid int) {
		_ = b.Pool().QueryRow(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'rolegate session watcher'`).Scan(&pid)
		return pid
	}
	pid := listener()
	if pid == 0 {
		t.Fatal("no connection listens for session changes")
	}
	// Stop the listener's backend, then change the session while nobody
	// listens; b's own trigger still fires, but nothing hears it.
	if _, err := b.Pool().Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	until(t, "a stops remembering", func() bool { return !a.SessionsRemembered() })
	if fromMemory(a, id) {
		t.Fatal("a answered from memory with its watcher gone")
	}
	if _, err := b.Pool().Exec(ctx, `DELETE FROM web_sessions`); err != nil {
		t.Fatal(err)
	}
	if !gone(a, id)() {
		t.Fatal("a session deleted while the watcher was away was still answered")
	}
	until(t, "a listens again", func() bool { return a.SessionsRemembered() && listener() != 0 && listener() != pid })
	if !gone(a, id)() {
		t.Fatal("listening again, a answered a session deleted while it was away")
	}
	if !strings.Contains(log.String(), "not hearing changes to sessions") {
		t.Fatalf("the lost connection was not logged:\n%s", log)
	}
}

// A watcher that never hears its own check (a pooler dropping
// notifications, here a check given no time) never remembers anything.
func TestWatcherThatCannotHearRemembersNothing(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	db := storetest.New(t)
	var log syncBuffer
	wctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.WatchSessionsEvery(wctx, slog.New(slog.NewTextHandler(&log, nil)), 50*time.Millisecond, time.Nanosecond)
	}()
	defer func() { cancel(); <-done }()
	until(t, "the failed check is logged", func() bool { return strings.Count(log.String(), "not hearing changes to sessions") >= 2 })
	_, id := newSession(t, db, "alice", store.RoleRequester)
	if _, err := db.LookupSession(ctx, id); err != nil {
		t.Fatal(err)
	}
	if db.SessionsRemembered() || fromMemory(db, id) {
		t.Fatal("a watcher that never heard its check let sessions be remembered")
	}
}

func newSession(t *testing.T, db *store.DB, user string, roles ...store.Role) (store.Session, string) {
	t.Helper()
	s, id, err := db.CreateSession(ctxT(t), store.NewSession{User: user, Roles: roles, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s, id
}

func newSessionFor(t *testing.T, db *store.DB, user string, lifetime time.Duration) (store.Session, string) {
	t.Helper()
	s, id, err := db.CreateSession(ctxT(t), store.NewSession{User: user, Lifetime: lifetime})
	if err != nil {
		t.Fatal(err)
	}
	return s, id
}

// The metrics say where each lookup was answered from, and whether the
// watcher hears.
func TestSessionLookupMetrics(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	db := storetest.New(t)
	metric := func(name, from string) float64 {
		t.Helper()
		reg := prometheus.NewRegistry()
		reg.MustRegister(db.Collector())
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				if f.GetName() == name && (from == "" || m.GetLabel()[0].GetValue() == from) {
					return m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
		t.Fatalf("no %s{from=%q}", name, from)
		return 0
	}
	_, id := newSession(t, db, "alice", store.RoleRequester)
	if _, err := db.LookupSession(ctx, id); err != nil {
		t.Fatal(err)
	}
	if metric("rolegate_session_watch_hearing", "") != 0 || metric("rolegate_session_lookups_total", "database") != 1 {
		t.Fatal("a lookup with no watcher was not counted as the database's, or hearing was not 0")
	}
	db.RememberWithoutWatching()
	for range 3 {
		if _, err := db.LookupSession(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if got := [3]float64{metric("rolegate_session_watch_hearing", ""), metric("rolegate_session_lookups_total", "database"),
		metric("rolegate_session_lookups_total", "memory")}; got != [3]float64{1, 2, 2} {
		t.Fatalf("hearing, from database, from memory = %v, want [1 2 2]", got)
	}
}
