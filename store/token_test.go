package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

func TestTokenLifecycle(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	db := storetest.Open(t, storetest.URL(t), store.Options{Now: func() time.Time { return clock() }})

	expires := now.Add(time.Hour)
	tok, secret, err := db.CreateToken(ctx, store.NewToken{User: "alice", Roles: []store.Role{store.RoleApprover},
		Groups: []string{"data-owners"}, ExpiresAt: &expires, CreatedBy: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, store.TokenPrefix) || strings.Count(secret, "_") < 2 {
		t.Fatalf("token %q lacks the rgt_<id>_<secret> form", secret)
	}
	got, err := db.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tok.ID || got.User != "alice" || !got.Actor().Has(store.RoleApprover) || !got.Actor().InGroup("data-owners") {
		t.Fatalf("Authenticate = %+v", got)
	}
	list, err := db.ListTokens(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].LastUsedAt == nil {
		t.Fatalf("ListTokens = %+v, %v; want one token with its last use", list, err)
	}
	if others, err := db.ListTokens(ctx, "bob"); err != nil || len(others) != 0 {
		t.Fatalf("bob's tokens = %+v, %v", others, err)
	}

	// The database holds no secret, only its hash. The secret is what
	// follows rgt_<id>_, and may itself hold underscores (base64url).
	parts := strings.SplitN(secret, "_", 3)
	if len(parts) != 3 || len(parts[2]) != 43 {
		t.Fatalf("token %q: want rgt_<id>_<43 characters>", secret)
	}
	var leaked bool
	if err := db.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_tokens WHERE position($1 IN row(api_tokens.*)::text) > 0)`,
		parts[2]).Scan(&leaked); err != nil || leaked {
		t.Fatalf("secret stored in clear (leaked=%v, err=%v)", leaked, err)
	}

	// A wrong secret for a real id, a malformed token, garbage.
	forged := secret[:len(secret)-2] + "xx"
	if strings.HasSuffix(secret, "xx") {
		forged = secret[:len(secret)-2] + "yy"
	}
	for _, bad := range []string{forged, "rgt_1_short", "ghp_abc", "", "rgt_x_" + strings.Repeat("a", 43)} {
		if _, err := db.Authenticate(ctx, bad); !errors.Is(err, store.ErrBadToken) {
			t.Errorf("Authenticate(%q) = %v, want ErrBadToken", bad, err)
		}
	}

	// Expired.
	clock = func() time.Time { return now.Add(2 * time.Hour) }
	if _, err := db.Authenticate(ctx, secret); !errors.Is(err, store.ErrBadToken) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired token: %v", err)
	}
	clock = func() time.Time { return now }

	// Revoked: only by its owner (or anyone when owner is empty), once.
	if _, err := db.RevokeToken(ctx, tok.ID, "bob", "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob revoking alice's token: %v", err)
	}
	if _, err := db.RevokeToken(ctx, tok.ID, "alice", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RevokeToken(ctx, tok.ID, "", "cli"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := db.Authenticate(ctx, secret); !errors.Is(err, store.ErrBadToken) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("revoked token: %v", err)
	}
	events, err := db.ListEvents(ctx, store.EventFilter{Actor: "alice"})
	if err != nil || len(events) != 1 || events[0].Kind != store.EventTokenRevoked {
		t.Fatalf("alice's audit events = %+v, %v", events, err)
	}
}

func TestCreateTokenRefusesBadInput(t *testing.T) {
	db, ctx := setupDB(t)
	past := time.Now().Add(-time.Hour)
	for name, in := range map[string]store.NewToken{
		"no user":      {Roles: []store.Role{store.RoleAdmin}},
		"unknown role": {User: "a", Roles: []store.Role{"root"}},
		"past expiry":  {User: "a", ExpiresAt: &past},
		"bidi name":    {User: "\u202eecila"},
		"escape name":  {User: "eve\x1b[2J"},
		"two lines":    {User: "eve\nmallory"},
		"system actor": {User: "Worker"},
		"cli":          {User: "cli"},
	} {
		if _, _, err := db.CreateToken(ctx, in); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	tok, _, err := db.CreateToken(ctx, store.NewToken{User: "a"})
	if err != nil || len(tok.Roles) != 1 || tok.Roles[0] != store.RoleRequester || tok.ExpiresAt != nil {
		t.Fatalf("default token = %+v, %v; want requester, no expiry", tok, err)
	}
}

// Narrowing takes from a user's own tokens what the user no longer holds,
// in order; a token left with no role is revoked; command-line tokens and
// other users' are untouched; nothing is ever added.
func TestNarrowTokens(t *testing.T) {
	db, ctx := setupDB(t)
	mk := func(user, by string, roles []store.Role, groups ...string) string {
		t.Helper()
		_, secret, err := db.CreateToken(ctx, store.NewToken{User: user, Roles: roles, Groups: groups, CreatedBy: by})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	all := []store.Role{store.RoleRequester, store.RoleApprover, store.RoleAdmin}
	own := mk("alice", "alice", all, "ops", "data-owners", "finance")
	onlyAdmin := mk("alice", "alice", []store.Role{store.RoleAdmin})
	cli := mk("alice", "cli", all, "ops")
	bobs := mk("bob", "bob", all, "ops")

	n, err := db.NarrowTokens(ctx, "alice", []store.Role{store.RoleRequester, store.RoleApprover, "reader"}, []string{"finance", "ops", "new-group"})
	if err != nil || n != 2 {
		t.Fatalf("NarrowTokens = %d, %v; want 2 tokens changed", n, err)
	}
	tok, err := db.Authenticate(ctx, own)
	if err != nil || fmt.Sprint(tok.Roles) != "[requester approver]" || fmt.Sprint(tok.Groups) != "[ops finance]" {
		t.Fatalf("alice's token = %v %v (%v), want [requester approver] [ops finance]", tok.Roles, tok.Groups, err)
	}
	if _, err := db.Authenticate(ctx, onlyAdmin); !errors.Is(err, store.ErrBadToken) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("a token left with no role: %v, want revoked", err)
	}
	for name, secret := range map[string]string{"the command line's": cli, "bob's": bobs} {
		if tok, err := db.Authenticate(ctx, secret); err != nil || len(tok.Roles) != 3 {
			t.Fatalf("%s token = %v (%v), want untouched", name, tok.Roles, err)
		}
	}
	if n, err := db.NarrowTokens(ctx, "alice", all, []string{"ops", "data-owners", "finance"}); err != nil || n != 0 {
		t.Fatalf("narrowing to more = %d, %v; want nothing changed", n, err)
	}
	events, err := db.ListEvents(ctx, store.EventFilter{Kind: store.EventTokenNarrowed})
	if err != nil || len(events) != 2 {
		t.Fatalf("token.narrowed events: %d (%v), want 2", len(events), err)
	}
}
