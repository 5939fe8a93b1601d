package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// searchCorpus marks the test parallel, stores the requests every search
// test asks about and returns the fixture. Two have versions no longer current: reporting-etl
// has a pending change (its first version mentions the legacy
// warehouse), cache-warmer a rejected one (back on its first version).
func searchCorpus(t *testing.T) fixture {
	t.Helper()
	f, ctx := setup(t, store.Options{})
	create := func(name, requester, justification string, scopes ...provision.BucketScope) store.Request {
		in := newRequest(name, requester, scopes...)
		in.Justification = justification
		return mustCreate(t, f.db, in)
	}
	create("etl-reader", "alice", "Nightly ETL load for Finance.",
		provision.BucketScope{Bucket: "finance-reports", Prefix: "exports/2026/", Access: provision.AccessRead})
	create("ml-trainer", "bob.smith", "Training the fraud model: needs 50%_of the data (read)",
		provision.BucketScope{Bucket: "ml-datasets", Prefix: "fraud/v2/", Access: provision.AccessRead})
	create("web-assets", "carol", "Serve static files\nfor the MARKETING site", read("static-assets"))

	rep := activate(t, f, create("reporting-etl", "alice", "Loads the legacy-warehouse extracts", read("legacy-wh")))
	next := withScopes(rep.Spec, provision.BucketScope{Bucket: "lakehouse-prod", Prefix: "tables/", Access: provision.AccessRead})
	if _, err := f.db.RequestChange(ctx, alice, rep.ID, store.NewVersion{Spec: next, Justification: "Reads the new lakehouse tables"}); err != nil {
		t.Fatal(err)
	}

	cw := activate(t, f, create("cache-warmer", "mallory", "Warms the edge cache", read("edge-cache")))
	change := withScopes(cw.Spec, read("edge-cache"), read("cdn-logs"))
	cw2, err := f.db.RequestChange(ctx, mallory, cw.ID, store.NewVersion{Spec: change, Justification: "Adds the CDN logs"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Decide(ctx, bob, cw.ID, cw2.Version, store.Decision{Approve: false, Comment: "not now"}); err != nil {
		t.Fatal(err)
	}
	return f
}

// legacySearchSQL is the search as it was before the search document:
// ILIKE over the role name, the requester and the current version's
// justification; with the scopes of the current version as bucket/prefix
// added, which search now covers too.
const legacySearchSQL = `
	SELECT r.role_name FROM requests r JOIN request_versions v ON v.request_id = r.id AND v.version = r.version
	WHERE r.role_name ILIKE $1 OR r.requester ILIKE $1 OR v.justification ILIKE $1
	   OR EXISTS (SELECT 1 FROM request_scopes s WHERE s.request_id = r.id AND s.version = r.version
	              AND s.bucket || '/' || s.prefix ILIKE $1)
	ORDER BY r.role_name`

// TestSearchMatchesAsBefore: on a fixed corpus, the indexed search finds
// exactly what the column-by-column ILIKE found (and what each case says),
// for case, punctuation, LIKE's special characters, parts of words,
// buckets and prefixes with slashes, line breaks, and terms only in a
// version that is no longer current.
func TestSearchMatchesAsBefore(t *testing.T) {
	f := searchCorpus(t)
	for _, c := range []struct {
		text string
		want []string
	}{
		{"etl", []string{"etl-reader", "reporting-etl"}}, // part of a role name; a justification word
		{"ETL", []string{"etl-reader", "reporting-etl"}}, // case
		{"Etl-Rea", []string{"etl-reader"}},              // a part across a hyphen
		{"nightly etl load", []string{"etl-reader"}},     // words with spaces
		{"finance.", []string{"etl-reader"}},             // punctuation
		{"50%_of", []string{"ml-trainer"}},               // LIKE's wildcards are plain characters
		{"%", []string{"ml-trainer"}},                    //
		{"_", []string{"ml-trainer"}},                    //
		{"(read)", []string{"ml-trainer"}},               //
		{"bob.smith", []string{"ml-trainer"}},            // a requester
		{"SMITH", []string{"ml-trainer"}},                //
		{"finance-reports", []string{"etl-reader"}},      // a bucket
		{"exports/2026", []string{"etl-reader"}},         // a prefix with slashes
		{"reports/exports/", []string{"etl-reader"}},     // bucket/prefix as the pages show a scope
		{"static-assets/", []string{"web-assets"}},       // a bucket with no prefix
		{"files\nfor", []string{"web-assets"}},           // a line break inside a justification
		{"site\nstatic", nil},                            // ... never across two fields
		{"carol\nserve", nil},                            //
		{"marketing", []string{"web-assets"}},            //
		{"lakehouse", []string{"reporting-etl"}},         // the current version of a change
		{"legacy-warehouse", nil},                        // only in a version no longer current
		{"legacy-wh", nil},                               // a bucket of such a version
		{"cdn-logs", nil},                                // a rejected change's bucket
		{"edge cache", []string{"cache-warmer"}},         // back on the live version after it
		{"a", []string{"cache-warmer", "etl-reader", "ml-trainer", "reporting-etl", "web-assets"}}, // one letter
		{"no-such-thing", nil},
	} {
		got, legacy := searchBothWays(t, f.db, c.text)
		if !slices.Equal(got, c.want) || !slices.Equal(got, legacy) {
			t.Errorf("search %q = %q, want %q (column by column: %q)", c.text, got, c.want, legacy)
		}
	}
}

// searchBothWays returns the role names ListRequests finds for text, and
// those the column-by-column search finds, each sorted.
func searchBothWays(t *testing.T, db *store.DB, text string) (got, legacy []string) {
	t.Helper()
	ctx := ctxT(t)
	page, err := db.ListRequests(ctx, store.ListFilter{Text: text, Limit: 500})
	if err != nil {
		t.Fatalf("search %q: %v", text, err)
	}
	for _, r := range page.Requests {
		got = append(got, r.Spec.Name)
	}
	slices.Sort(got)
	rows, err := db.Pool().Query(ctx, legacySearchSQL, "%"+likeEscape(text)+"%")
	if err != nil {
		t.Fatal(err)
	}
	if legacy, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	return got, legacy
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// TestSearchWithFiltersAndPages: search combines with the other filters
// and pages by keyset like any list.
func TestSearchWithFiltersAndPages(t *testing.T) {
	f := searchCorpus(t)
	ctx := ctxT(t)
	page, err := f.db.ListRequests(ctx, store.ListFilter{Text: "etl", Status: store.StatusActive})
	if err != nil || len(page.Requests) != 0 {
		t.Fatalf("etl among active requests = %+v, %v; want none (reporting-etl has a change pending)", page.Requests, err)
	}
	// Every kind of argument the list query takes, with the text (which
	// is planned anew each time, its arguments typed by pgx).
	page, err = f.db.ListRequests(ctx, store.ListFilter{Text: "etl", DecidableBy: &erin,
		UpdatedSince: f.clock.Now().Add(-time.Hour), Bucket: "finance-reports", Status: store.StatusPending})
	if err != nil || len(page.Requests) != 1 || page.Requests[0].Spec.Name != "etl-reader" {
		t.Fatalf("etl routed to erin = %+v, %v; want etl-reader", page.Requests, err)
	}
	page, err = f.db.ListRequests(ctx, store.ListFilter{Text: "etl", Requester: "alice", Limit: 1})
	if err != nil || len(page.Requests) != 1 || page.Requests[0].Spec.Name != "reporting-etl" || page.Next == "" {
		t.Fatalf("first page of etl by alice = %+v (next %q), %v", page.Requests, page.Next, err)
	}
	page, err = f.db.ListRequests(ctx, store.ListFilter{Text: "etl", Requester: "alice", Limit: 1, Cursor: page.Next})
	if err != nil || len(page.Requests) != 1 || page.Requests[0].Spec.Name != "etl-reader" || page.Next != "" {
		t.Fatalf("second page of etl by alice = %+v (next %q), %v", page.Requests, page.Next, err)
	}
}

// TestSearchDocumentIsTheFunctions: every version the store writes, first
// versions and changes, carries the search document the migration's
// function makes of it, so what the migration filled and what the store
// writes cannot drift apart.
func TestSearchDocumentIsTheFunctions(t *testing.T) {
	f := searchCorpus(t)
	var versions, differ int
	err := f.db.Pool().QueryRow(ctxT(t), `
		SELECT count(*), count(*) FILTER (WHERE v.search_doc IS DISTINCT FROM request_search_doc(r.account, r.role_name, r.requester, v.justification,
			(SELECT array_agg(s.bucket ORDER BY s.position) FROM request_scopes s WHERE s.request_id = v.request_id AND s.version = v.version),
			(SELECT array_agg(s.prefix ORDER BY s.position) FROM request_scopes s WHERE s.request_id = v.request_id AND s.version = v.version)))
		FROM request_versions v JOIN requests r ON r.id = v.request_id`).Scan(&versions, &differ)
	if err != nil {
		t.Fatal(err)
	}
	if versions != 7 || differ != 0 {
		t.Fatalf("%d of %d versions have another search document than the function's", differ, versions)
	}
}
