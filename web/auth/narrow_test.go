package auth

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// TestTokensNarrowedToCurrentRoles: when the proxy shows a user without a
// role their API token was made with, the token loses it in the database
// and the API is told to check that user's tokens again; once per change.
func TestTokensNarrowedToCurrentRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	var mu sync.Mutex
	var forgets []func(store.Token) bool
	s := serveEcho(t, db, Deps{Identity: proxyIdentity(), Sessions: db, NarrowTokens: db.NarrowTokens,
		ForgetTokens: func(drop func(store.Token) bool) {
			mu.Lock()
			defer mu.Unlock()
			forgets = append(forgets, drop)
		}})
	tok, _, err := db.CreateToken(ctx, store.NewToken{User: "alice", Roles: []store.Role{store.RoleRequester, store.RoleAdmin},
		Groups: []string{"admins"}, CreatedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := db.CreateToken(ctx, store.NewToken{User: "bob", Roles: []store.Role{store.RoleRequester, store.RoleAdmin},
		Groups: []string{"admins"}, CreatedBy: "bob"})
	if err != nil {
		t.Fatal(err)
	}

	// The proxy names alice in no group: she is no longer an admin.
	b := browser(t)
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/me", nil)
	req.Header.Set("X-Forwarded-User", "alice")
	for range 2 { // the second page changes nothing more
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /me: %d", resp.StatusCode)
		}
	}
	list, err := db.ListTokens(ctx, "alice")
	if err != nil || len(list) != 1 {
		t.Fatalf("alice's tokens: %v %v", list, err)
	}
	if got := list[0]; got.ID != tok.ID || !slices.Equal(got.Roles, []store.Role{store.RoleRequester}) || len(got.Groups) != 0 {
		t.Fatalf("alice's token after narrowing: roles %v groups %v, want [requester] and none", got.Roles, got.Groups)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(forgets) != 1 {
		t.Fatalf("ForgetTokens called %d times, want once", len(forgets))
	}
	if !forgets[0](tok) || forgets[0](other) {
		t.Error("ForgetTokens drops other users' tokens, or not alice's")
	}
	bobs, err := db.ListTokens(ctx, "bob")
	if err != nil || len(bobs) != 1 || !slices.Contains(bobs[0].Roles, store.RoleAdmin) {
		t.Fatalf("bob's token was touched: %v %v", bobs, err)
	}
}
