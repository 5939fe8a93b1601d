package auth

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rolegate/rolegate/store"
)

// Identity says how the web knows who a browser user is: exactly one of
// dev users, OIDC or trusted proxy headers (or none, when every page but
// the health checks asks the operator to configure one).
type Identity struct {
	// DevUsers offers the fixed users of DevUserList with a switcher in
	// the header. For `rolegate dev` only.
	DevUsers bool
	// DevHosts are host names, besides IP addresses, localhost and
	// *.localhost, at which a server with dev users answers (see
	// DevHostGuard).
	DevHosts []string
	// OIDC signs users in with an OpenID Connect provider.
	OIDC *OIDCConfig
	// Proxy trusts user and group headers set by an authenticating proxy.
	Proxy *ProxyConfig
	// Roles map the user's groups (OIDC claim or proxy header) to roles.
	Roles RoleGroups
	// SessionKey seals the session cookies; at least 32 bytes. Empty means
	// a random key per process (sessions end at restart).
	SessionKey []byte
	// SessionLifetime is how long a sign-in lasts; default 12h.
	SessionLifetime time.Duration
	// CookieSecure marks the cookies Secure (and __Host-) on every
	// request. Without it they are Secure on requests known to be HTTPS
	// (Auth.KnownHTTPS): over TLS, or when a trusted proxy says so.
	CookieSecure bool
}

// OIDCConfig is an OpenID Connect client using the authorization code flow
// with PKCE.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is this server's callback, https://HOST/auth/callback.
	RedirectURL string
	// Scopes requested besides openid; default profile, email, groups.
	Scopes []string
	// GroupsClaim names the ID token claim holding the groups; default "groups".
	GroupsClaim string
	// UsernameClaim names the claim used as the user name; default
	// "preferred_username", falling back to a verified email and then sub
	// (an email claim counts only with email_verified true).
	UsernameClaim string
	// HTTPClient talks to the provider; default a client with a 10s timeout.
	HTTPClient *http.Client
}

// ProxyConfig trusts headers set by an authenticating reverse proxy such
// as oauth2-proxy, but only on connections from Trusted addresses.
type ProxyConfig struct {
	Trusted      []netip.Prefix
	UserHeader   string // default X-Forwarded-User
	EmailHeader  string // default X-Forwarded-Email; used when the user header is empty
	GroupsHeader string // default X-Forwarded-Groups, comma-separated on one line or several
	// SignOutURL is where sign-out sends the browser; default /oauth2/sign_out.
	SignOutURL string
}

// RoleGroups map groups to roles. An empty Requester list makes every
// signed-in user a requester.
type RoleGroups struct {
	Requester []string
	Approver  []string
	Admin     []string
}

// rolesFor returns the roles a user with groups holds.
func (g RoleGroups) rolesFor(groups []string) []store.Role {
	in := func(list []string) bool {
		return slices.ContainsFunc(list, func(x string) bool { return slices.Contains(groups, x) })
	}
	var roles []store.Role
	if len(g.Requester) == 0 || in(g.Requester) {
		roles = append(roles, store.RoleRequester)
	}
	if in(g.Approver) {
		roles = append(roles, store.RoleApprover)
	}
	if in(g.Admin) {
		roles = append(roles, store.RoleAdmin)
	}
	return roles
}

// Mode names the way users are identified: "dev", "oidc", "proxy" or "".
func (i Identity) Mode() string {
	switch {
	case i.DevUsers:
		return "dev"
	case i.OIDC != nil:
		return "oidc"
	case i.Proxy != nil:
		return "proxy"
	}
	return ""
}

// Validate checks the identity settings. It returns an error with one line
// per problem, naming the setting, or nil.
func (i Identity) Validate() error {
	var errs []error
	n := 0
	for _, on := range []bool{i.DevUsers, i.OIDC != nil, i.Proxy != nil} {
		if on {
			n++
		}
	}
	if n > 1 {
		errs = append(errs, errors.New("identity: choose one of dev users, OIDC and trusted proxy headers, not several"))
	}
	if len(i.SessionKey) > 0 && len(i.SessionKey) < 32 {
		errs = append(errs, fmt.Errorf("session key: %d bytes is too short, want at least 32", len(i.SessionKey)))
	}
	if (i.OIDC != nil || i.Proxy != nil) && len(i.SessionKey) == 0 {
		errs = append(errs, errors.New("session key: required with OIDC or trusted proxy headers, so sessions survive restarts and are shared between replicas"))
	}
	if o := i.OIDC; o != nil {
		if o.Issuer == "" || o.ClientID == "" || o.RedirectURL == "" {
			errs = append(errs, errors.New("oidc: issuer, client ID and redirect URL are all required"))
		}
		if o.RedirectURL != "" && !strings.HasSuffix(o.RedirectURL, "/auth/callback") {
			errs = append(errs, fmt.Errorf("oidc: redirect URL %q must end in /auth/callback", o.RedirectURL))
		}
	}
	if p := i.Proxy; p != nil && len(p.Trusted) == 0 {
		errs = append(errs, errors.New("trusted proxies: at least one proxy address range is required"))
	}
	return errors.Join(errs...)
}

func (i Identity) withDefaults() Identity {
	if i.SessionLifetime <= 0 {
		i.SessionLifetime = 12 * time.Hour
	}
	if o := i.OIDC; o != nil {
		c := *o
		if len(c.Scopes) == 0 {
			c.Scopes = []string{"profile", "email", "groups"}
		}
		if c.GroupsClaim == "" {
			c.GroupsClaim = "groups"
		}
		if c.UsernameClaim == "" {
			c.UsernameClaim = "preferred_username"
		}
		if c.HTTPClient == nil {
			c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
		}
		i.OIDC = &c
	}
	if p := i.Proxy; p != nil {
		c := *p
		if c.UserHeader == "" {
			c.UserHeader = "X-Forwarded-User"
		}
		if c.EmailHeader == "" {
			c.EmailHeader = "X-Forwarded-Email"
		}
		if c.GroupsHeader == "" {
			c.GroupsHeader = "X-Forwarded-Groups"
		}
		if c.SignOutURL == "" {
			c.SignOutURL = "/oauth2/sign_out"
		}
		i.Proxy = &c
	}
	return i
}

// DevUser is one of the fixed users of dev mode.
type DevUser struct {
	Name   string
	Roles  []store.Role
	Groups []string
}

// DevUserList returns the dev users: alice requests, bob approves, carol
// administers, dave approves as a member of the data-owners group.
func DevUserList() []DevUser {
	req := store.RoleRequester
	return []DevUser{
		{Name: "alice", Roles: []store.Role{req}},
		{Name: "bob", Roles: []store.Role{req, store.RoleApprover}},
		{Name: "carol", Roles: []store.Role{req, store.RoleAdmin}},
		{Name: "dave", Roles: []store.Role{req, store.RoleApprover}, Groups: []string{"data-owners"}},
	}
}

func devUser(name string) (DevUser, bool) {
	for _, u := range DevUserList() {
		if u.Name == name {
			return u, true
		}
	}
	return DevUser{}, false
}

// proxyActor returns the user the proxy headers name, but only when the
// connection itself comes from a trusted proxy: the peer address, never a
// forwarded-for header, which anyone can send. A user or email header
// given more than once names nobody.
func proxyActor(p *ProxyConfig, roles RoleGroups, r *http.Request) (store.Actor, bool) {
	if !fromTrusted(p.Trusted, r) {
		return store.Actor{}, false
	}
	// A proxy that removes the identity headers clients send names its
	// user once: a second user or email line is the client's, and which
	// line is the proxy's cannot be told, so nobody is signed in.
	users, emails := r.Header.Values(p.UserHeader), r.Header.Values(p.EmailHeader)
	if len(users) > 1 || len(emails) > 1 {
		return store.Actor{}, false
	}
	name := strings.TrimSpace(r.Header.Get(p.UserHeader))
	if name == "" {
		name = strings.TrimSpace(r.Header.Get(p.EmailHeader))
	}
	if name == "" || len(name) > 200 {
		return store.Actor{}, false
	}
	// Groups come comma-separated, on one line or several: oauth2-proxy
	// adds a line per group, and each line counts.
	var groups []string
	for _, line := range r.Header.Values(p.GroupsHeader) {
		for _, g := range strings.Split(line, ",") {
			if g = strings.TrimSpace(g); g != "" {
				groups = append(groups, g)
			}
		}
	}
	return store.Actor{Name: name, Roles: roles.rolesFor(groups), Groups: groups}, true
}

// proxyOnLoopback reports whether a trusted proxy may sit on this host.
func (id Identity) proxyOnLoopback() bool {
	if id.Proxy == nil {
		return false
	}
	for _, p := range id.Proxy.Trusted {
		if p.Overlaps(netip.MustParsePrefix("127.0.0.0/8")) || p.Overlaps(netip.MustParsePrefix("::1/128")) {
			return true
		}
	}
	return false
}

// peerAddr is the address of the TCP peer (IPv4-mapped addresses as
// IPv4), never one a header names.
func peerAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return addr.Unmap(), true
}
