package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestSearchForARareWordBesideCommonOnes: among 300 roles named
// fleet-node-N, a search pairing the common words with a rare number asks
// the trigram index for the number alone once the table is analyzed, and
// finds exactly what the column-by-column search finds.
func TestSearchForARareWordBesideCommonOnes(t *testing.T) {
	db, ctx := setupDB(t)
	// Before any row (so before autovacuum may analyze the table), there
	// are no statistics, and the search asks for the whole text.
	if got := db.NarrowSearch(ctx, "fleet-node-137"); got != "" {
		t.Fatalf("without statistics the search narrows to %q, want the whole text", got)
	}
	for i := range 300 {
		in := newRequest(fmt.Sprintf("fleet-node-%d", i), "alice", read("fleet-logs"))
		in.Justification = fmt.Sprintf("Node %d of the fleet reads its logs", i)
		mustCreate(t, db, in)
	}
	if _, err := db.Pool().Exec(ctx, `ANALYZE request_versions`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		text, narrow string
		want         []string
	}{
		{"fleet-node-137", "137", []string{"fleet-node-137"}},
		{"FLEET-NODE-137", "137", []string{"fleet-node-137"}},
		{"node-137", "137", []string{"fleet-node-137"}},
		{"node 137 of", "137", []string{"fleet-node-137"}}, // the justification
		{"fleet-node-137 of", "137", nil},                  // never across two lines of the document
		{"fleet-node-299", "299", []string{"fleet-node-299"}},
		{"fleet-node-300", "300", nil},
		{"fleet-node-13", "", []string{"fleet-node-13", "fleet-node-130", "fleet-node-131", "fleet-node-132",
			"fleet-node-133", "fleet-node-134", "fleet-node-135", "fleet-node-136", "fleet-node-137",
			"fleet-node-138", "fleet-node-139"}},
	} {
		if got := db.NarrowSearch(ctx, c.text); got != c.narrow {
			t.Errorf("search %q asks the index for %q, want %q", c.text, got, c.narrow)
		}
		got, legacy := searchBothWays(t, db, c.text)
		if !slices.Equal(got, c.want) || !slices.Equal(got, legacy) {
			t.Errorf("search %q = %q, want %q (column by column: %q)", c.text, got, c.want, legacy)
		}
	}
}

// TestRareWordSearchUnderATurkishCollation: the database folds case by
// its collation, where 'I' is the capital of 'ı', not of 'i'; the word
// asked of the index keeps the case it was typed in, so the search finds
// what the column-by-column search finds.
func TestRareWordSearchUnderATurkishCollation(t *testing.T) {
	db, ctx := setupTurkish(t)
	for i := range 300 {
		in := newRequest(fmt.Sprintf("fleet-node-%d", i), "alice", read("fleet-logs"))
		in.Justification = fmt.Sprintf("Node %d of the fleet reads its logs", i)
		if i == 42 {
			in.Justification = "QUIRKY Node of the fleet"
		}
		mustCreate(t, db, in)
	}
	if _, err := db.Pool().Exec(ctx, `ANALYZE request_versions`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ text, narrow, want string }{
		{"QUIRKY Node", "QUIRKY", "fleet-node-42"},
		{"quirky node", "quirky", ""}, // "quirky" is not "QUIRKY" lowered here: "quırky" is
	} {
		if got := db.NarrowSearch(ctx, c.text); got != c.narrow {
			t.Errorf("search %q asks the index for %q, want %q", c.text, got, c.narrow)
		}
		got, legacy := searchBothWays(t, db, c.text)
		if want := strings.Fields(c.want); !slices.Equal(got, want) || !slices.Equal(got, legacy) {
			t.Errorf("search %q = %q, want %q (column by column: %q)", c.text, got, want, legacy)
		}
	}
}
