package web

import (
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/auth"
)

const hsts = "max-age=31536000"

// viaProxy sends method path to srv as a proxy in front of it would,
// with headers, cookies and a form; it returns the answer and its body.
// The client keeps no cookies: a jar would drop Secure ones over the
// plain HTTP the test speaks, as the browser behind the proxy does not.
func viaProxy(t *testing.T, srv, method, path string, headers map[string]string, cks []*http.Cookie, form url.Values) (*http.Response, string) {
	t.Helper()
	var body *strings.Reader
	if form == nil {
		body = strings.NewReader("")
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, srv+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	for _, ck := range cks {
		req.AddCookie(ck)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, b := iamlocaltest.Send(t, c, req)
	return resp, string(b)
}

// TestHTTPSBehindProxy: behind a proxy that ends TLS, rolegate marks its
// cookies Secure and sends HSTS when the proxy (a trusted peer) says the
// browser used https, in X-Forwarded-Proto or Forwarded, without the
// cookie-secure setting; not when anyone else says so, nor on plain HTTP.
func TestHTTPSBehindProxy(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	trusted := uiServe(t, db, uiProxyIdentity()).srv.URL // this test is the proxy
	id := uiProxyIdentity()
	id.Proxy = &auth.ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	untrusted := uiServe(t, db, id).srv.URL // this test is a stranger
	for _, tc := range []struct {
		name    string
		srv     string
		headers map[string]string
		https   bool
	}{
		{"trusted proxy says https", trusted, map[string]string{"X-Forwarded-Proto": "https"}, true},
		{"trusted proxy, Forwarded", trusted, map[string]string{"Forwarded": `for=192.0.2.60;proto="https"`}, true},
		{"trusted proxy says http", trusted, map[string]string{"X-Forwarded-Proto": "http"}, false},
		{"plain HTTP", trusted, nil, false},
		{"stranger says https", untrusted, map[string]string{"X-Forwarded-Proto": "https"}, false},
		{"stranger, Forwarded", untrusted, map[string]string{"Forwarded": "proto=https"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"X-Forwarded-User": "alice"}
			maps.Copy(hdr, tc.headers)
			for _, path := range []string{"/requests", "/healthz", "/api/v1/me"} {
				resp, _ := viaProxy(t, tc.srv, http.MethodGet, path, hdr, nil, nil)
				if got := resp.Header.Get("Strict-Transport-Security"); (got == hsts) != tc.https || (!tc.https && got != "") {
					t.Errorf("GET %s: Strict-Transport-Security %q, want it only when known HTTPS (%v)", path, got, tc.https)
				}
				if path != "/requests" {
					continue
				}
				cks := resp.Cookies()
				if len(cks) == 0 {
					t.Fatalf("GET %s set no cookie", path)
				}
				for _, ck := range cks {
					if ck.Secure != tc.https {
						t.Errorf("GET %s: cookie %s Secure=%v, want %v", path, ck.Name, ck.Secure, tc.https)
					}
				}
			}
		})
	}
}

// TestHTTPSBehindProxyActions: the cookies an action sets and clears
// (the flash message, the ended session) are Secure too when the trusted
// proxy says https.
func TestHTTPSBehindProxyActions(t *testing.T) {
	t.Parallel()
	srv := uiSetup(t, uiProxyIdentity()).srv.URL
	hdr := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-User": "alice"}
	resp, body := viaProxy(t, srv, http.MethodGet, "/settings/sessions", hdr, nil, nil)
	m := uiCSRFRe.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("sessions page: %d, CSRF token found %v", resp.StatusCode, m != nil)
	}
	resp, _ = viaProxy(t, srv, http.MethodPost, "/settings/sessions/end", hdr, resp.Cookies(), url.Values{"csrf": {m[1]}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signing out everywhere: %d, want 303", resp.StatusCode)
	}
	names := map[string]bool{}
	for _, ck := range resp.Cookies() {
		names[ck.Name] = true
		if !ck.Secure {
			t.Errorf("cookie %s set by signing out everywhere is not Secure", ck.Name)
		}
	}
	if !names[auth.FlashCookie] || !names[auth.SessionCookie] {
		t.Errorf("signing out everywhere set cookies %v, want the flash and the cleared session", names)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != hsts {
		t.Errorf("Strict-Transport-Security %q, want %q", got, hsts)
	}
}
