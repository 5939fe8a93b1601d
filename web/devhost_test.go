package web

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/auth"
)

// TestDevUsersAnswerOnlyLocalHostNames: with dev users, a page of another
// site that points its own name at this machine (DNS rebinding) must not
// reach the dev sign-in through the developer's browser, which sends that
// name as Host: such a request is refused with 421 and signs nobody in.
// IP addresses, localhost, *.localhost and the configured extra names are
// served; without dev users every name is.
func TestDevUsersAnswerOnlyLocalHostNames(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	dev := uiServe(t, db, auth.Identity{DevUsers: true, DevHosts: []string{"rolegate.test"}}).srv
	send := func(base, host, method, path string, form url.Values) (int, string, *http.Response) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, base+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Host = host
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res
	}
	for _, host := range []string{"evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.nip.io", "rolegate.test.evil.example"} {
		if code, body, _ := send(dev.URL, host, http.MethodGet, "/signin", nil); code != http.StatusMisdirectedRequest ||
			!strings.Contains(body, "answers only at localhost, a *.localhost name or an IP address") {
			t.Errorf("GET /signin at %s = %d, want 421 saying where dev answers\n%s", host, code, pageExcerpt(body))
		}
		code, _, res := send(dev.URL, host, http.MethodPost, "/dev/signin", url.Values{"user": {"carol"}})
		if code != http.StatusMisdirectedRequest || len(res.Cookies()) != 0 {
			t.Errorf("dev sign-in at %s = %d with cookies %v, want 421 and none", host, code, res.Cookies())
		}
	}
	for _, host := range []string{"localhost", "LOCALHOST:8080", "localhost.", "app.localhost:3000", "127.0.0.1", "127.0.0.1:8080",
		"[::1]:8080", "192.168.1.20:8080", "Rolegate.Test:8080"} {
		if code, body, _ := send(dev.URL, host, http.MethodGet, "/signin", nil); code != http.StatusOK {
			t.Errorf("GET /signin at %s = %d, want 200\n%s", host, code, pageExcerpt(body))
		}
	}
	// Without dev users nobody signs in with one form: every name is served.
	other := uiServe(t, db, auth.Identity{}).srv
	if code, body, _ := send(other.URL, "rolegate.example.com", http.MethodGet, "/", nil); code != http.StatusOK {
		t.Errorf("without dev users GET / at rolegate.example.com = %d, want 200\n%s", code, pageExcerpt(body))
	}
}
