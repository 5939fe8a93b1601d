package store_test

import (
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// A watcher hands every change to an API token that matters to a check to
// the OnTokenChanged functions, in commit order; recording a token's last
// use is not one.
func TestWatcherHearsTokenChanges(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	url := storetest.URL(t)
	a, b := storetest.Open(t, url, store.Options{}), storetest.Open(t, url, store.Options{})
	heard := make(chan int64, 16)
	a.OnTokenChanged(func(id int64) { heard <- id })
	watching(t, a)
	next := func() int64 {
		t.Helper()
		select {
		case id := <-heard:
			return id
		case <-time.After(10 * time.Second):
			t.Fatal("no token change heard within 10s")
			return 0
		}
	}
	mk := func(roles ...store.Role) (store.Token, string) {
		t.Helper()
		// Made by the user for themself, as narrowing takes only those.
		tok, secret, err := b.CreateToken(ctx, store.NewToken{User: "bot", Roles: roles, CreatedBy: "bot"})
		if err != nil {
			t.Fatal(err)
		}
		return tok, secret
	}
	first, secret := mk(store.RoleRequester)
	second, _ := mk(store.RoleRequester, store.RoleApprover)
	// Its first use records it (an UPDATE of last_used_at): not heard.
	if _, err := b.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RevokeToken(ctx, first.ID, "", "carol"); err != nil {
		t.Fatal(err)
	}
	if id := next(); id != first.ID {
		t.Fatalf("heard token %d first, want the revoked %d (a last-use record is not a change)", id, first.ID)
	}
	if _, err := b.NarrowTokens(ctx, "bot", []store.Role{store.RoleRequester}, nil); err != nil {
		t.Fatal(err)
	}
	if id := next(); id != second.ID {
		t.Fatalf("heard token %d, want the narrowed %d", id, second.ID)
	}
	if _, err := b.Pool().Exec(ctx, `DELETE FROM api_tokens WHERE id = $1`, second.ID); err != nil {
		t.Fatal(err)
	}
	if id := next(); id != second.ID {
		t.Fatalf("heard token %d, want the deleted %d", id, second.ID)
	}
	if _, err := b.Pool().Exec(ctx, `TRUNCATE api_tokens`); err != nil {
		t.Fatal(err)
	}
	if id := next(); id != 0 {
		t.Fatalf("heard token %d for a TRUNCATE, want 0 (all)", id)
	}
}
