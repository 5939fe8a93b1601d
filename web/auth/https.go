package auth

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// KnownHTTPS reports whether r is known to have reached the browser over
// HTTPS: the connection itself is TLS, or it comes from a trusted proxy
// (the TCP peer, never a forwarded-for header) that says the browser used
// https in X-Forwarded-Proto or Forwarded. Anyone else's proto headers
// are ignored: a client speaking plain HTTP to rolegate could send them;
// so are a trusted proxy's sent in two lines.
// Cookies are Secure and HSTS is sent only on such requests (or with
// CookieSecure).
func (a *Auth) KnownHTTPS(r *http.Request) bool {
	return knownHTTPS(a.trusted(), r)
}

// trusted is the address ranges of the proxies whose headers count; none
// without proxy sign-in.
func (a *Auth) trusted() []netip.Prefix {
	if a.id.Proxy == nil {
		return nil
	}
	return a.id.Proxy.Trusted
}

func knownHTTPS(trusted []netip.Prefix, r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !fromTrusted(trusted, r) {
		return false
	}
	return strings.EqualFold(firstElement(oneLine(r.Header, "X-Forwarded-Proto")), "https") ||
		strings.EqualFold(forwardedProto(oneLine(r.Header, "Forwarded")), "https")
}

// oneLine is the value of header name when it came in one line, "" when
// in none or several: a proxy that adds a line of its own rather than
// replacing the client's leaves two, of which one is the client's word,
// and neither can be told apart (as the identity headers' rule has it).
func oneLine(h http.Header, name string) string {
	if vs := h.Values(name); len(vs) == 1 {
		return vs[0]
	}
	return ""
}

// fromTrusted reports whether the TCP peer of r is inside one of trusted.
func fromTrusted(trusted []netip.Prefix, r *http.Request) bool {
	addr, ok := peerAddr(r)
	return ok && slices.ContainsFunc(trusted, func(pr netip.Prefix) bool { return pr.Contains(addr) })
}

// firstElement is the first comma-separated element of a header value,
// trimmed: the hop nearest the browser, as the proxy chain appends.
func firstElement(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// forwardedProto is the proto parameter of the first element of an RFC
// 7239 Forwarded header (`for=192.0.2.1;proto=https, for=...`), unquoted;
// "" when it names none. Commas and semicolons inside quoted values do
// not split.
func forwardedProto(v string) string {
	for _, pair := range splitUnquoted(firstUnquoted(v, ','), ';') {
		name, val, ok := strings.Cut(pair, "=")
		if ok && strings.EqualFold(strings.TrimSpace(name), "proto") {
			val = strings.TrimSpace(val)
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			return val
		}
	}
	return ""
}

// firstUnquoted is v up to the first sep outside double quotes.
func firstUnquoted(v string, sep byte) string {
	return splitUnquoted(v, sep)[0]
}

// splitUnquoted splits v at each sep outside double quotes (a backslash
// escapes the next character inside them).
func splitUnquoted(v string, sep byte) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			parts = append(parts, v[start:i])
			start = i + 1
		}
	}
	return append(parts, v[start:])
}
