package auth

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCookieSecureHostPrefix: with CookieSecure the session cookie is
// named __Host-…, Secure, Path=/ and has no Domain, even over plain HTTP
// (TLS ends at a proxy); and the server reads it back under that name.
func TestCookieSecureHostPrefix(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{true, false} {
		id := proxyIdentity()
		id.CookieSecure = secure
		s := newEchoServer(t, id)
		req, err := http.NewRequest(http.MethodGet, s.srv.URL+"/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-User", "alice")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := SessionCookie
		if secure {
			want = "__Host-" + SessionCookie
		}
		var got *http.Cookie
		for _, ck := range resp.Cookies() {
			if strings.HasSuffix(ck.Name, SessionCookie) {
				if got != nil {
					t.Fatalf("secure=%v: two session cookies: %v and %v", secure, got, ck)
				}
				got = ck
			}
		}
		if got == nil {
			t.Fatalf("secure=%v: no session cookie in %v", secure, resp.Header["Set-Cookie"])
		}
		if got.Name != want || got.Secure != secure || got.Path != "/" || got.Domain != "" ||
			!got.HttpOnly || got.SameSite != http.SameSiteLaxMode || got.MaxAge <= 0 {
			t.Fatalf("secure=%v: session cookie %q, want name %s, Secure=%v, Path=/, no Domain, HttpOnly, SameSite=Lax",
				secure, resp.Header["Set-Cookie"], want, secure)
		}

		// The cookie is read back under its own name only: the same
		// value under the other name is no session.
		other := SessionCookie
		if !secure {
			other = "__Host-" + SessionCookie
		}
		for _, tc := range []struct {
			name  string
			known bool
		}{{got.Name, true}, {other, false}} {
			req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/do", nil)
			req.Header.Set("X-Forwarded-User", "alice")
			req.AddCookie(&http.Cookie{Name: tc.name, Value: got.Value})
			// The token alice's session calls for.
			var sess session
			if err := s.a.cookies.codec.open(got.Name, got.Value, &sess, time.Now()); err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-CSRF-Token", s.a.cookies.codec.csrfToken(sess.ID, "alice"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if (resp.StatusCode == http.StatusOK) != tc.known {
				t.Errorf("secure=%v: POST with the cookie named %s: %d, want accepted=%v", secure, tc.name, resp.StatusCode, tc.known)
			}
		}
	}
}
