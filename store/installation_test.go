package store_test

import (
	"regexp"
	"testing"

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
