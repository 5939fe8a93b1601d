package auth

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// DevHostGuard refuses, while dev users are on, a request whose Host is
// not an IP address, localhost, a *.localhost name or one of
// Identity.DevHosts (any port). Dev users sign anyone in as an admin with
// one form, safe only because the server listens on this machine; but a
// web page the developer visits can point its own name at 127.0.0.1 (DNS
// rebinding) and drive that form through the developer's browser, which
// then sends the page's name as Host. Names a page's owner cannot point at
// this machine are let through, as Jupyter and webpack-dev-server do.
// Without dev users it passes every request.
func (a *Auth) DevHostGuard(next echo.HandlerFunc) echo.HandlerFunc {
	if !a.id.DevUsers {
		return next
	}
	return func(c echo.Context) error {
		host := c.Request().Host
		if devHostAllowed(host, a.id.DevHosts) {
			return next(c)
		}
		return echo.NewHTTPError(http.StatusMisdirectedRequest,
			"This rolegate signs in with the dev users, so it answers only at localhost, a *.localhost name or an IP address, not at "+
				quoteHost(host)+": a web page could point that name at this machine and sign in through your browser. "+
				"To use that name, add it to --dev-allowed-hosts (DEV_ALLOWED_HOSTS).")
	}
}

// devHostAllowed reports whether hostport (a Host header) names an IP
// address, localhost, a *.localhost name or one of extra. An empty Host
// (HTTP/1.0) is allowed: browsers always send one.
func devHostAllowed(hostport string, extra []string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return slices.ContainsFunc(extra, func(e string) bool { return strings.EqualFold(strings.TrimSuffix(e, "."), host) })
}

// quoteHost is host for a message: quoted, and cut short.
func quoteHost(host string) string {
	return `"` + truncateText(strings.ToValidUTF8(host, "?"), 80) + `"`
}
