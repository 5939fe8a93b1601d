package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rolegate/rolegate/store"
)

// A role name belongs to one request, whatever its case and whatever the
// database's collation.

func TestCreateRequestRoleNameTakenCaseInsensitively(t *testing.T) {
	db, ctx := setupDB(t)
	mustCreate(t, db, newRequest("Reports-Reader", "alice"))
	_, err := db.CreateRequest(ctx, newRequest("reports-reader", "bob"))
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), `a role named "reports-reader" is already requested or live`) {
		t.Fatalf("err = %v, want ErrConflict naming the role", err)
	}
}

func TestConcurrentCreatesOfOneNameOneWins(t *testing.T) {
	db, ctx := setupDB(t)
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		won, lost int
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.CreateRequest(ctx, newRequest("contested", fmt.Sprintf("user%d", i)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrConflict):
				lost++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || lost != 7 {
		t.Fatalf("won %d, lost %d; want 1 and 7", won, lost)
	}
}

// IAM compares role names without regard to case, letter by letter in
// ASCII; so must the database, whatever its collation: under a Turkish
// one lower('I') is 'ı', and "DATA-I" and "data-i" would both be let in,
// for IAM to refuse the second role as someone else's.
func TestRoleNameTakenCaseInsensitivelyUnderATurkishCollation(t *testing.T) {
	db, ctx := setupTurkish(t)
	mustCreate(t, db, newRequest("DATA-INGEST", "alice"))
	if taken, err := db.RoleNameTaken(ctx, "", "data-ingest", 0); err != nil || !taken {
		t.Errorf("RoleNameTaken(data-ingest) = %t, %v; want taken", taken, err)
	}
	if _, err := db.CreateRequest(ctx, newRequest("data-ingest", "bob")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second request for the name in other case: %v, want ErrConflict", err)
	}
}

// A database whose collation is Turkish may already hold, in requests not
// ended, role names that differ only in case ("DATA-I" and "data-i"): the
// unique index folded them apart. The migration that folds under "C"
// cannot build its index then; it fails saying which requests clash and
// what to do, not just that an index could not be built.
func TestRoleNameMigrationNamesTheRequestsThatClash(t *testing.T) {
	db, ctx := setupTurkish(t)
	// Created by today's store, on today's schema, which its statements
	// need.
	first := mustCreate(t, db, newRequest("DATA-I", "alice"))
	second := mustCreate(t, db, newRequest("other-name", "bob"))
	// Back to before migration 19, whose index folds by the collation.
	for {
		status, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(status, func(m store.MigrationState) bool { return m.Version >= 19 && m.Applied }) {
			break
		}
		if err := db.MigrateDown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// What the index of before let in under this collation.
	if _, err := db.Pool().Exec(ctx, `UPDATE requests SET role_name = 'data-i' WHERE id = $1`, second.ID); err != nil {
		t.Fatal(err)
	}
	_, err := db.Migrate(ctx, nil)
	if err == nil {
		t.Fatal("the migration built its index over two live requests for one role name")
	}
	for _, want := range []string{fmt.Sprintf("requests %d, %d", first.ID, second.ID), "cancel, reject or revoke"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the migration failed with %q, which does not say %q", err, want)
		}
	}
}
