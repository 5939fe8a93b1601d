package store_test

import (
	"maps"
	"testing"

	"github.com/rolegate/rolegate/store"
)

// TestSearchMigrationFillsExistingRows: migration 00010 gives the versions
// stored before it their search documents, and counts the requests that
// are there.
func TestSearchMigrationFillsExistingRows(t *testing.T) {
	db, ctx := setupBelow(t, 10)
	if _, err := db.Pool().Exec(ctx, `
		BEGIN;
		SET CONSTRAINTS ALL DEFERRED;
		INSERT INTO requests (id, role_name, requester, status, version) OVERRIDING SYSTEM VALUE
		VALUES (1, 'old-reader', 'alice', 'pending', 2), (2, 'old-writer', 'bob', 'rejected', 1), (3, 'old-third', 'carol', 'pending', 1);
		INSERT INTO request_versions (request_id, version, justification, created_by)
		VALUES (1, 1, 'first reason', 'alice'), (1, 2, 'second
reason', 'alice'), (2, 1, 'why', 'bob'), (3, 1, 'because', 'carol');
		INSERT INTO request_scopes (request_id, version, position, bucket, prefix, access)
		VALUES (1, 1, 0, 'alpha', '', 'read'), (1, 2, 0, 'beta', 'logs/2026/', 'read'), (1, 2, 1, 'alpha', '', 'write'),
		       (2, 1, 0, 'gamma', 'x/', 'write'), (3, 1, 0, 'delta', '', 'read');
		COMMIT`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Pool().Query(ctx, `SELECT request_id, version, search_doc FROM request_versions ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ id, version int }
	got := map[key]string{}
	for rows.Next() {
		var k key
		var doc string
		if err := rows.Scan(&k.id, &k.version, &doc); err != nil {
			t.Fatal(err)
		}
		got[k] = doc
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[key]string{
		{1, 1}: "default\nold-reader\nalice\nfirst reason\nalpha/",
		{1, 2}: "default\nold-reader\nalice\nsecond\nreason\nbeta/logs/2026/\nalpha/",
		{2, 1}: "default\nold-writer\nbob\nwhy\ngamma/x/",
		{3, 1}: "default\nold-third\ncarol\nbecause\ndelta/",
	}
	if !maps.Equal(got, want) {
		t.Fatalf("search documents = %v, want %v", got, want)
	}
	counts, err := db.CountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[store.Status]int{store.StatusPending: 2, store.StatusRejected: 1}; !maps.Equal(counts, want) {
		t.Fatalf("CountByStatus = %v, want %v", counts, want)
	}
	page, err := db.ListRequests(ctx, store.ListFilter{Text: "logs/2026"})
	if err != nil || len(page.Requests) != 1 || page.Requests[0].ID != 1 {
		t.Fatalf("search for a prefix of a version stored before the migration = %+v, %v", page.Requests, err)
	}
}
