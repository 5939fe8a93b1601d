package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store"
)

func TestCSRFTokenIsBoundToSessionAndUser(t *testing.T) {
	s := proxyTest(t)
	alice, other := browser(t), browser(t)
	name, tok := s.me(t, alice, "alice")
	if name != "alice" || tok == "" {
		t.Fatalf("GET /me as alice = %q %q", name, tok)
	}
	if code, body := s.call(t, alice, http.MethodPost, "/do", "alice", tok, nil); code != http.StatusOK || body != "alice" {
		t.Fatalf("alice's own token: %d %q, want 200 alice", code, body)
	}
	// The same browser and cookie, but the proxy now names bob: alice's
	// token is not bob's.
	if code, body := s.call(t, alice, http.MethodPost, "/do", "bob", tok, nil); code != http.StatusForbidden {
		t.Fatalf("alice's token for bob: %d %q, want 403", code, body)
	}
	// Another browser of alice's, with a session of its own.
	s.me(t, other, "alice")
	if code, body := s.call(t, other, http.MethodPost, "/do", "alice", tok, nil); code != http.StatusForbidden {
		t.Fatalf("alice's token in another session: %d %q, want 403", code, body)
	}
	// No token, and a token in the form field rather than the header.
	if code, _ := s.call(t, alice, http.MethodPost, "/do", "alice", "", nil); code != http.StatusForbidden {
		t.Fatalf("no token: %d, want 403", code)
	}
	if code, body := s.call(t, alice, http.MethodPost, "/do", "alice", "", url.Values{"csrf": {tok}}); code != http.StatusOK || body != "alice" {
		t.Fatalf("token in the form: %d %q, want 200 alice", code, body)
	}
}

// TestDevSignInAndOut: the dev sign-in refuses users it does not list;
// signing out deletes the session on the server, so a copy of its cookie
// identifies nobody.
func TestDevSignInAndOut(t *testing.T) {
	t.Parallel()
	s := newEchoServer(t, Identity{DevUsers: true, SessionKey: testKey})
	b := browser(t)
	if code, body := s.devSignIn(t, b, "mallory"); code != http.StatusBadRequest {
		t.Fatalf("unknown dev user: %d %s, want 400", code, body)
	}
	if name, _ := s.me(t, b, ""); name != "-" {
		t.Fatalf("after a refused sign-in the browser is %q", name)
	}
	if code, body := s.devSignIn(t, b, "bob"); code != http.StatusSeeOther {
		t.Fatalf("dev sign-in: %d %s", code, body)
	}
	name, tok := s.me(t, b, "")
	if name != "bob" {
		t.Fatalf("signed in as %q, want bob", name)
	}
	sess := s.sessionID(t, b)
	ctx := context.Background()
	row, err := s.db.LookupSession(ctx, sess.ID)
	if err != nil || row.User != "bob" {
		t.Fatalf("session row: %+v %v", row, err)
	}
	u, _ := url.Parse(s.srv.URL)
	stolen := b.Jar.Cookies(u)

	if code, body := s.call(t, b, http.MethodPost, "/signout", "", tok, nil); code != http.StatusSeeOther {
		t.Fatalf("sign-out: %d %s", code, body)
	}
	if _, err := s.db.LookupSession(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session row after sign-out: %v, want ErrNotFound", err)
	}
	if name, _ := s.me(t, b, ""); name != "-" {
		t.Fatalf("after sign-out the browser is %q, want signed out", name)
	}
	// A copy of the cookie taken before sign-out identifies nobody.
	thief := browser(t)
	thief.Jar.SetCookies(u, stolen)
	if name, _ := s.me(t, thief, ""); name != "-" {
		t.Fatalf("the old cookie is %q, want signed out", name)
	}
}

func TestDevUserList(t *testing.T) {
	t.Parallel()
	want := map[string][]store.Role{
		"alice": {store.RoleRequester},
		"bob":   {store.RoleRequester, store.RoleApprover},
		"carol": {store.RoleRequester, store.RoleAdmin},
		"dave":  {store.RoleRequester, store.RoleApprover},
	}
	list := DevUserList()
	if len(list) != len(want) {
		t.Fatalf("%d dev users, want %d", len(list), len(want))
	}
	for _, u := range list {
		roles, ok := want[u.Name]
		if !ok {
			t.Fatalf("unexpected dev user %q", u.Name)
		}
		if strings.Join(roleStrs(u.Roles), ",") != strings.Join(roleStrs(roles), ",") {
			t.Errorf("%s holds %v, want %v", u.Name, u.Roles, roles)
		}
		if _, ok := devUser(u.Name); !ok {
			t.Errorf("devUser(%q) not found", u.Name)
		}
	}
	if u, _ := devUser("dave"); len(u.Groups) != 1 || u.Groups[0] != "data-owners" {
		t.Errorf("dave's groups = %v, want [data-owners]", u.Groups)
	}
	if _, ok := devUser("mallory"); ok {
		t.Error("devUser(mallory) found")
	}
}

func roleStrs(rs []store.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}
