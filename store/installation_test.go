package store_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// Migrating draws the database's installation ID once: the store knows
// it at once, a store opened later reads the same one, migrating again
// keeps it, and the settings every plan is built from carry it. Another
// database draws another.
func TestInstallationIsDrawnOnceByTheDatabase(t *testing.T) {
	t.Parallel()
	url, ctx := storetest.EmptyURL(t), ctxT(t)
	db := storetest.Open(t, url, store.Options{})
	if id := db.Installation(); id != "" {
		t.Fatalf("installation ID %q before the database was migrated", id)
	}
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	id := db.Installation()
	if !uuidRe.MatchString(id) {
		t.Fatalf("installation ID %q, want a random UUID", id)
	}
	if _, err := db.Migrate(ctx, nil); err != nil || db.Installation() != id {
		t.Fatalf("after migrating again: %q (%v), want %q", db.Installation(), err, id)
	}
	if reopened := storetest.Open(t, url, store.Options{}); reopened.Installation() != id {
		t.Fatalf("a store opened later reads %q, want %q", reopened.Installation(), id)
	}
	if got := db.Settings().Installation; got != id {
		t.Fatalf("Settings().Installation = %q, want %q", got, id)
	}
	// It held no request before it drew its ID, so it adopts no role
	// without the installation tag.
	if n, set := db.AdoptsUpTo(), db.Settings().AdoptsUpTo; n != 0 || set != 0 {
		t.Fatalf("a new database adopts for requests up to %d (settings: %d), want none", n, set)
	}
	var rows int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM installation`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("%d installation rows (%v), want one", rows, err)
	}
	if _, err := db.Pool().Exec(ctx, `INSERT INTO installation DEFAULT VALUES`); err == nil {
		t.Fatal("a second installation row was let in")
	}
	other := storetest.New(t)
	if other.Installation() == "" || other.Installation() == id {
		t.Fatalf("another database's installation ID %q (this one's %q)", other.Installation(), id)
	}
	if again := storetest.Open(t, storetest.URL(t), store.Options{}); again.Installation() == other.Installation() {
		t.Fatal("two test databases share an installation ID")
	}
}

// Migration 22 keeps the last request a database held before it drew its
// installation ID (migration 21): only the roles of requests up to it can
// have been made without the installation tag. Until then the store
// knows the ID and adopts for none; after, it and the settings of every
// plan carry the bound, and migrating down and up again finds it again.
func TestInstallationAdoptsOnlyRequestsFromBeforeItsID(t *testing.T) {
	t.Parallel()
	url, ctx := storetest.EmptyURL(t), ctxT(t)
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	db := storetest.Open(t, url, store.Options{Now: func() time.Time { return at }})
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	migrateDownBelow(t, db, 22)
	mustCreate(t, db, newRequest("first-role", "alice"))
	at = at.Add(time.Second)
	last := mustCreate(t, db, newRequest("second-role", "alice"))
	// Migration 21 ran here, after them, in a database upgraded with
	// requests.
	if _, err := db.Pool().Exec(ctx, `UPDATE installation SET created_at = $1`, at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	at = at.Add(2 * time.Second)
	mustCreate(t, db, newRequest("third-role", "alice"))
	between := storetest.Open(t, url, store.Options{})
	if between.Installation() == "" || between.AdoptsUpTo() != 0 {
		t.Fatalf("before migration 22 the store reads installation %q adopting up to %d, want its ID adopting none", between.Installation(), between.AdoptsUpTo())
	}
	for range 2 {
		if _, err := db.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if n, set := db.AdoptsUpTo(), db.Settings().AdoptsUpTo; n != last.ID || set != last.ID {
			t.Fatalf("after migration 22 the store adopts for requests up to %d (settings: %d), want %d, the last made before the ID", n, set, last.ID)
		}
		migrateDownBelow(t, db, 22)
	}
}
