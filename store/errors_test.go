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
		store.ErrUnavailable, store.ErrBadToken, store.ErrBadCursor, store.ErrIdempotencyMismatch, store.ErrIdempotencyInFlight}
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
		"ErrUnavailable": true, "ErrBadToken": true, "ErrBadCursor": true, "ErrIdempotencyMismatch": true,
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
