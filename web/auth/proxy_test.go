package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/rolegate/rolegate/store"
)

// TestProxyNamesAnotherUser: when the proxy names another user than the
// browser's session is for, that session ends on the server and a new one
// starts, so the old CSRF token is refused even for its own user.
func TestProxyNamesAnotherUser(t *testing.T) {
	s := proxyTest(t)
	b := browser(t)
	_, aliceTok := s.me(t, b, "alice")
	aliceSess := s.sessionID(t, b)
	if name, _ := s.me(t, b, "bob"); name != "bob" {
		t.Fatalf("after the proxy names bob the browser is %q", name)
	}
	ctx := context.Background()
	if _, err := s.db.LookupSession(ctx, aliceSess.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("alice's session after bob's page: %v, want ErrNotFound", err)
	}
	bobSess := s.sessionID(t, b)
	if bobSess.ID == aliceSess.ID || bobSess.User != "bob" {
		t.Fatalf("bob's session %+v, alice's %+v: want a new one for bob", bobSess, aliceSess)
	}
	if code, body := s.call(t, b, http.MethodPost, "/do", "alice", aliceTok, nil); code != http.StatusForbidden {
		t.Fatalf("alice's old token after the session changed: %d %q, want 403", code, body)
	}
	// A form as a user the browser has no session of is refused until a
	// page starts one: a POST never starts a session.
	if code, body := s.call(t, b, http.MethodPost, "/do", "carol", s.a.cookies.codec.csrfToken(bobSess.ID, "carol"), nil); code != http.StatusOK || body != "-" {
		t.Fatalf("carol's form on bob's session: %d %q, want accepted but signed out", code, body)
	}
	if row, err := s.db.LookupSession(ctx, bobSess.ID); err != nil || row.User != "bob" {
		t.Fatalf("bob's session after carol's form: %+v %v", row, err)
	}
}

// TestProxySignOut ends the session and sends the browser to the proxy's
// sign-out with a local "next" only.
func TestProxySignOut(t *testing.T) {
	s := proxyTest(t)
	for _, tc := range []struct{ next, want string }{
		{"/requests?x=1", "/oauth2/sign_out?rd=%2Frequests%3Fx%3D1"},
		{"//evil.example/", "/oauth2/sign_out"},
		{"https://evil.example/", "/oauth2/sign_out"},
		{"", "/oauth2/sign_out"},
	} {
		b := browser(t)
		_, tok := s.me(t, b, "alice")
		sess := s.sessionID(t, b)
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/signout", nil)
		req.URL.RawQuery = url.Values{"next": {tc.next}}.Encode()
		req.Header.Set("X-Forwarded-User", "alice")
		req.Header.Set("X-CSRF-Token", tok)
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.want {
			t.Errorf("sign-out with next=%q: %d to %q, want 303 to %q", tc.next, resp.StatusCode, resp.Header.Get("Location"), tc.want)
		}
		if _, err := s.db.LookupSession(context.Background(), sess.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session after sign-out: %v, want ErrNotFound", err)
		}
	}
	if got := proxySignOutURL("https://sso.example/out?rd=/home", "/x"); got != "https://sso.example/out?rd=/home" {
		t.Errorf("a sign-out URL naming its own rd got %q", got)
	}
}

// TestIdentifyRefusesNonText: a form value the store could not keep is a
// 400 with a message, never a 5xx.
func TestIdentifyRefusesNonText(t *testing.T) {
	s := proxyTest(t)
	b := browser(t)
	_, tok := s.me(t, b, "alice")
	for _, v := range []string{"a\x00b", "\xff\xfe"} {
		if code, body := s.call(t, b, http.MethodPost, "/do", "alice", tok, url.Values{"note": {v}}); code != http.StatusBadRequest {
			t.Errorf("form value %q: %d %q, want 400", v, code, body)
		}
	}
	if code, body := s.call(t, b, http.MethodGet, "/me?q=%00", "alice", "", nil); code != http.StatusBadRequest {
		t.Errorf("query with NUL: %d %q, want 400", code, body)
	}
}

func TestLocalPath(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]string{
		"/requests?x=1":         "/requests?x=1",
		"/":                     "/",
		"":                      "/fb",
		"requests":              "/fb",
		"//evil.example":        "/fb",
		"/\\evil.example":       "/fb",
		"https://evil.example/": "/fb",
		"/%zz":                  "/fb",
	} {
		if got := LocalPath(p, "/fb"); got != want {
			t.Errorf("LocalPath(%q) = %q, want %q", p, got, want)
		}
	}
}
