package auth

import (
	"crypto/tls"
	"net/netip"
	"testing"
)

// TestKnownHTTPS: a request is known to be HTTPS over TLS, or when a
// trusted proxy says the browser used https, in X-Forwarded-Proto or in
// the first element of Forwarded (names and values in any case, values
// quoted or not); never on anyone else's word.
func TestKnownHTTPS(t *testing.T) {
	t.Parallel()
	a := New(Deps{Identity: Identity{Proxy: &ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, SessionKey: testKey}})
	const proxy, stranger = "10.1.2.3:4567", "192.0.2.7:4567"
	for _, tc := range []struct {
		name, peer string
		headers    map[string]string
		want       bool
	}{
		{"proxy says https", proxy, map[string]string{"X-Forwarded-Proto": "https"}, true},
		{"proxy says HTTPS then http", proxy, map[string]string{"X-Forwarded-Proto": " HTTPS , http"}, true},
		{"proxy says http", proxy, map[string]string{"X-Forwarded-Proto": "http"}, false},
		{"proxy says http first", proxy, map[string]string{"X-Forwarded-Proto": "http, https"}, false},
		{"proxy says nothing", proxy, nil, false},
		{"Forwarded proto=https", proxy, map[string]string{"Forwarded": "for=192.0.2.60;proto=https;by=203.0.113.43"}, true},
		{"Forwarded quoted, any case", proxy, map[string]string{"Forwarded": `for="[2001:db8:cafe::17]:4711";Proto="HTTPS", for=10.0.0.1;proto=http`}, true},
		{"Forwarded http first", proxy, map[string]string{"Forwarded": "for=192.0.2.60;proto=http, for=10.0.0.1;proto=https"}, false},
		{"Forwarded comma inside quotes", proxy, map[string]string{"Forwarded": `for="x, proto=https";proto=http`}, false},
		{"Forwarded without proto", proxy, map[string]string{"Forwarded": "for=192.0.2.60"}, false},
		{"stranger says https", stranger, map[string]string{"X-Forwarded-Proto": "https"}, false},
		{"stranger's Forwarded", stranger, map[string]string{"Forwarded": "proto=https"}, false},
		{"stranger names the proxy", stranger, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.1.2.3", "X-Real-Ip": "10.1.2.3"}, false},
	} {
		r := peerRequest("/", tc.peer, tc.headers)
		if got := a.KnownHTTPS(r); got != tc.want {
			t.Errorf("%s: KnownHTTPS = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Two lines, one the client's: neither counts, whichever comes first.
	for _, lines := range [][]string{{"https", "http"}, {"http", "https"}} {
		for _, h := range []string{"X-Forwarded-Proto", "Forwarded"} {
			r := peerRequest("/", proxy, nil)
			for _, l := range lines {
				if h == "Forwarded" {
					l = "proto=" + l
				}
				r.Header.Add(h, l)
			}
			if a.KnownHTTPS(r) {
				t.Errorf("%s in two lines %v: known to be HTTPS", h, lines)
			}
		}
	}
	r := peerRequest("/", stranger, nil)
	r.TLS = &tls.ConnectionState{}
	if !a.KnownHTTPS(r) || !New(Deps{}).KnownHTTPS(r) {
		t.Error("a TLS connection is not known to be HTTPS")
	}
}
