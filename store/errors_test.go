package store_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store"
)

// Each kind matches its own sentinel and, for a refined kind, its general
// kind's; messages are not compared, and wrapping keeps both.
func TestErrorKindsMatchBySentinel(t *testing.T) {
	t.Parallel()
	sentinels := []*store.Error{store.ErrNotFound, store.ErrConflict, store.ErrInvalid, store.ErrForbidden,
		store.ErrUnavailable, store.ErrTimeout, store.ErrBadToken, store.ErrBadCursor, store.ErrIdempotencyMismatch, store.ErrIdempotencyInFlight}
	for _, tc := range []struct {
		err  *store.Error
		is   []*store.Error
		text string
	}{
		{&store.Error{Kind: store.KindConflict, Message: "request 1 is no longer pending"},
			[]*store.Error{store.ErrConflict}, "conflict: request 1 is no longer pending"},
		{&store.Error{Kind: store.KindForbidden, Message: "only admins can retry"},
			[]*store.Error{store.ErrForbidden}, "forbidden: only admins can retry"},
		{store.ErrNotFound, []*store.Error{store.ErrNotFound}, "not found"},
		{store.ErrTimeout, []*store.Error{store.ErrTimeout},
			"database timeout: the database took too long to answer; try again in a few seconds"},
		{store.ErrBadCursor, []*store.Error{store.ErrBadCursor, store.ErrInvalid}, "invalid: malformed page cursor"},
		{store.ErrIdempotencyMismatch, []*store.Error{store.ErrIdempotencyMismatch, store.ErrInvalid},
			"invalid: the Idempotency-Key was used with a different request"},
		{store.ErrIdempotencyInFlight, []*store.Error{store.ErrIdempotencyInFlight, store.ErrConflict},
			"conflict: a request with this Idempotency-Key is still in progress"},
		{&store.Error{Kind: store.KindBadToken, Message: "unknown token"},
			[]*store.Error{store.ErrBadToken}, "invalid API token: unknown token"},
	} {
		if tc.err.Error() != tc.text {
			t.Errorf("text %q, want %q", tc.err.Error(), tc.text)
		}
		wrapped := fmt.Errorf("deciding: %w", tc.err)
		for _, s := range sentinels {
			want := false
			for _, is := range tc.is {
				want = want || is == s
			}
			if errors.Is(wrapped, s) != want {
				t.Errorf("errors.Is(%q, %q) = %v", tc.err, s, !want)
			}
		}
		var got *store.Error
		if !errors.As(wrapped, &got) || got.Message != tc.err.Message {
			t.Errorf("%q: the message does not survive wrapping", tc.err)
		}
	}
}

// Store errors are built with their message (errorf in the store, an
// *Error elsewhere), so callers read the message from the *Error rather
// than out of the error text: wrapping a sentinel with fmt.Errorf("%w: ...")
// would leave the message only in the text, and people would see a
// generic one. This walks the module's non-test files for such calls.
func TestStoreErrorsAreBuiltTyped(t *testing.T) {
	t.Parallel()
	kinds := map[string]bool{"ErrNotFound": true, "ErrConflict": true, "ErrInvalid": true, "ErrForbidden": true,
		"ErrUnavailable": true, "ErrTimeout": true, "ErrBadToken": true, "ErrBadCursor": true, "ErrIdempotencyMismatch": true,
		"ErrIdempotencyInFlight": true}
	sentinel := func(e ast.Expr, inStore bool) string {
		switch e := e.(type) {
		case *ast.Ident:
			if inStore && kinds[e.Name] {
				return e.Name
			}
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok && x.Name == "store" && kinds[e.Sel.Name] {
				return "store." + e.Sel.Name
			}
		}
		return ""
	}
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		inStore := f.Name.Name == "store"
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Errorf" {
				return true
			}
			for _, arg := range call.Args {
				if name := sentinel(arg, inStore); name != "" {
					t.Errorf("%s: fmt.Errorf wraps %s; build a *store.Error with its message", fset.Position(call.Pos()), name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil || checked < 50 {
		t.Fatalf("walked %d files: %v", checked, err)
	}
}

// A statement the database refuses although the store's checks let it
// through (a race, or a rule of the schema the store does not check
// first) reaches people in general words: no table, column or
// constraint. What the database said stays on the error for logs.
func TestDatabaseRefusalsSayGeneralWords(t *testing.T) {
	db, ctx := setupDB(t)
	// Two rules of the schema the store knows nothing of, standing in
	// for the rare refusal its own checks do not foresee.
	for _, ddl := range []string{
		`CREATE UNIQUE INDEX request_versions_rare_collision ON request_versions (justification) WHERE justification = 'sent twice'`,
		`ALTER TABLE decisions ADD CONSTRAINT decisions_rare_refusal CHECK (comment <> 'refused by the database')`,
	} {
		if _, err := db.Pool().Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
	}
	twice := func(name string) store.NewRequest {
		in := newRequest(name, "alice")
		in.Justification = "sent twice"
		return in
	}
	mustCreate(t, db, twice("first-of-two"))
	_, collided := db.CreateRequest(ctx, twice("second-of-two"))
	r := mustCreate(t, db, newRequest("refused-comment", "alice"))
	_, refused := db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, Comment: "refused by the database"})

	for _, tc := range []struct {
		err              error
		kind             error
		message          string
		constraint, said string
	}{
		{collided, store.ErrConflict, "this collides with something saved at the same moment (the same form sent twice, perhaps); look again before trying once more",
			"request_versions_rare_collision", "duplicate key value violates unique constraint"},
		{refused, store.ErrInvalid, "a value is outside what rolegate accepts; check what was entered",
			"decisions_rare_refusal", "violates check constraint"},
	} {
		var se *store.Error
		if !errors.Is(tc.err, tc.kind) || !errors.As(tc.err, &se) {
			t.Fatalf("err = %v, want %v", tc.err, tc.kind)
		}
		if se.Message != tc.message {
			t.Errorf("people are told %q, want %q", se.Message, tc.message)
		}
		msg, constraint, ok := se.Refusal()
		if !ok || constraint != tc.constraint || !strings.Contains(msg, tc.said) {
			t.Errorf("Refusal() = %q, %q, %v; want the database's words (%q) and constraint %s", msg, constraint, ok, tc.said, tc.constraint)
		}
		if text := se.Error(); !strings.Contains(text, tc.message) || !strings.Contains(text, tc.constraint) {
			t.Errorf("the error's text %q, for logs, lacks the message or the constraint", text)
		}
	}
	// The store's own words carry no refusal.
	if _, _, ok := (&store.Error{Kind: store.KindConflict, Message: "request 1 is no longer pending"}).Refusal(); ok {
		t.Error("an error the store worded itself reports a refusal")
	}
}
