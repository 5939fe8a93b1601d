package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rolegate/rolegate/web/auth"
)

// webSettings are the sign-in and session settings of the web UI.
type webSettings struct {
	devUsers bool
	devHosts string

	oidcIssuer, oidcClientID, oidcClientSecret, oidcRedirectURL string
	oidcScopes, oidcGroupsClaim, oidcUsernameClaim              string

	trustedProxies, proxyUserHeader, proxyEmailHeader, proxyGroupsHeader, proxySignOutURL string

	requesterGroups, approverGroups, adminGroups string

	sessionKey      string
	sessionLifetime time.Duration
	cookieSecure    bool
}

// register adds the flags of `rolegate serve` to fs: dev users off.
func (w *webSettings) register(fs *flag.FlagSet, getenv func(string) string, errs *settingErrors) {
	w.registerWith(fs, getenv, errs, false)
}

// registerDev adds the same flags for `rolegate dev`: dev users on unless
// DEV_USERS=false or --dev-users=false.
func (w *webSettings) registerDev(fs *flag.FlagSet, getenv func(string) string, errs *settingErrors) {
	w.registerWith(fs, getenv, errs, true)
}

func (w *webSettings) registerWith(fs *flag.FlagSet, getenv func(string) string, errs *settingErrors, devDefault bool) {
	fs.BoolVar(&w.devUsers, "dev-users", envBool(getenv, "DEV_USERS", devDefault, errs),
		"offer the fixed dev users alice, bob, carol and dave with a switcher; never in production [DEV_USERS]")
	fs.StringVar(&w.devHosts, "dev-allowed-hosts", getenv("DEV_ALLOWED_HOSTS"),
		"comma-separated host names at which a server with dev users also answers, besides IP addresses, localhost and *.localhost [DEV_ALLOWED_HOSTS]")
	fs.StringVar(&w.oidcIssuer, "oidc-issuer", getenv("OIDC_ISSUER"), "OpenID Connect issuer `URL`; enables OIDC sign-in [OIDC_ISSUER]")
	fs.StringVar(&w.oidcClientID, "oidc-client-id", getenv("OIDC_CLIENT_ID"), "OIDC client ID [OIDC_CLIENT_ID]")
	fs.StringVar(&w.oidcClientSecret, "oidc-client-secret", getenv("OIDC_CLIENT_SECRET"), "OIDC client secret; prefer the environment variable [OIDC_CLIENT_SECRET]")
	fs.StringVar(&w.oidcRedirectURL, "oidc-redirect-url", getenv("OIDC_REDIRECT_URL"), "this server's callback `URL`, https://HOST/auth/callback [OIDC_REDIRECT_URL]")
	fs.StringVar(&w.oidcScopes, "oidc-scopes", envString(getenv, "OIDC_SCOPES", "profile,email,groups"), "comma-separated scopes besides openid [OIDC_SCOPES]")
	fs.StringVar(&w.oidcGroupsClaim, "oidc-groups-claim", envString(getenv, "OIDC_GROUPS_CLAIM", "groups"), "ID token claim holding the user's groups [OIDC_GROUPS_CLAIM]")
	fs.StringVar(&w.oidcUsernameClaim, "oidc-username-claim", envString(getenv, "OIDC_USERNAME_CLAIM", "preferred_username"), "ID token claim used as the user name (then a verified email, then sub) [OIDC_USERNAME_CLAIM]")
	fs.StringVar(&w.trustedProxies, "trusted-proxies", getenv("TRUSTED_PROXIES"), "comma-separated addresses or `CIDRs` (at most /8 for IPv4; /32 for IPv6, /7 within fc00::/7) of proxies whose user and X-Forwarded-Proto headers are trusted; enables proxy sign-in [TRUSTED_PROXIES]")
	fs.StringVar(&w.proxyUserHeader, "proxy-user-header", envString(getenv, "PROXY_USER_HEADER", "X-Forwarded-User"), "header naming the user [PROXY_USER_HEADER]")
	fs.StringVar(&w.proxyEmailHeader, "proxy-email-header", envString(getenv, "PROXY_EMAIL_HEADER", "X-Forwarded-Email"), "header with the email, used when the user header is empty [PROXY_EMAIL_HEADER]")
	fs.StringVar(&w.proxyGroupsHeader, "proxy-groups-header", envString(getenv, "PROXY_GROUPS_HEADER", "X-Forwarded-Groups"), "header with the groups, comma-separated on one line or several [PROXY_GROUPS_HEADER]")
	fs.StringVar(&w.proxySignOutURL, "proxy-signout-url", envString(getenv, "PROXY_SIGNOUT_URL", "/oauth2/sign_out"), "where sign-out sends the browser behind the proxy [PROXY_SIGNOUT_URL]")
	fs.StringVar(&w.requesterGroups, "requester-groups", getenv("REQUESTER_GROUPS"), "comma-separated groups that may request; empty: every signed-in user [REQUESTER_GROUPS]")
	fs.StringVar(&w.approverGroups, "approver-groups", getenv("APPROVER_GROUPS"), "comma-separated groups whose members approve [APPROVER_GROUPS]")
	fs.StringVar(&w.adminGroups, "admin-groups", getenv("ADMIN_GROUPS"), "comma-separated groups whose members administer [ADMIN_GROUPS]")
	fs.StringVar(&w.sessionKey, "session-key", getenv("SESSION_KEY"), "base64 of at least 32 random bytes sealing session cookies; prefer the environment variable [SESSION_KEY]")
	fs.DurationVar(&w.sessionLifetime, "session-lifetime", envDuration(getenv, "SESSION_LIFETIME", 12*time.Hour, errs), "how long a sign-in lasts [SESSION_LIFETIME]")
	fs.BoolVar(&w.cookieSecure, "cookie-secure", envBool(getenv, "COOKIE_SECURE", false, errs), "always mark cookies Secure, with the __Host- prefix; needed only when the proxy ending TLS does not send X-Forwarded-Proto: https [COOKIE_SECURE]")
}

// identity checks the settings (one line per problem into errs) and
// returns the web's identity configuration. dataDir, when not empty (dev),
// is where a generated session key is kept between runs.
func (w *webSettings) identity(dataDir string, errs *settingErrors) auth.Identity {
	id := auth.Identity{
		DevUsers:        w.devUsers,
		DevHosts:        splitList(w.devHosts),
		Roles:           auth.RoleGroups{Requester: splitList(w.requesterGroups), Approver: splitList(w.approverGroups), Admin: splitList(w.adminGroups)},
		SessionLifetime: w.sessionLifetime,
		CookieSecure:    w.cookieSecure,
	}
	if w.sessionLifetime < time.Minute || w.sessionLifetime > 30*24*time.Hour {
		errs.add("--session-lifetime / SESSION_LIFETIME: %s is not from 1m to 720h", w.sessionLifetime)
	}
	if w.oidcIssuer != "" {
		id.OIDC = &auth.OIDCConfig{Issuer: w.oidcIssuer, ClientID: w.oidcClientID, ClientSecret: w.oidcClientSecret,
			RedirectURL: w.oidcRedirectURL, Scopes: splitList(w.oidcScopes), GroupsClaim: w.oidcGroupsClaim, UsernameClaim: w.oidcUsernameClaim}
		if strings.HasPrefix(w.oidcRedirectURL, "https://") {
			id.CookieSecure = true
		}
	}
	if w.trustedProxies != "" {
		p := &auth.ProxyConfig{UserHeader: w.proxyUserHeader, EmailHeader: w.proxyEmailHeader,
			GroupsHeader: w.proxyGroupsHeader, SignOutURL: w.proxySignOutURL}
		refused := false
		for _, c := range splitList(w.trustedProxies) {
			pr, problem := trustedRange(c)
			if problem != "" {
				errs.add("--trusted-proxies / TRUSTED_PROXIES: %q %s", c, problem)
				refused = true
				continue
			}
			p.Trusted = append(p.Trusted, pr)
		}
		if refused && len(p.Trusted) == 0 {
			// Said above, entry by entry: no "at least one range" after.
			p.Trusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		}
		id.Proxy = p
	}
	switch {
	case w.sessionKey != "":
		key, err := decodeKey(w.sessionKey)
		if err != nil {
			errs.add("--session-key / SESSION_KEY: %v", err)
		}
		id.SessionKey = key
	case dataDir != "" && w.devUsers:
		key, err := devSessionKey(dataDir)
		if err != nil {
			errs.add("--session-key / SESSION_KEY: cannot keep a generated key in the data directory: %v", err)
		}
		id.SessionKey = key
	}
	if err := id.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			errs.add("web sign-in: %s", line)
		}
	}
	return id
}

// trustedRange reads one --trusted-proxies entry: an address, or a CIDR
// naming its range's first address. It returns what is wrong with it
// instead, "" when nothing is: not an address or CIDR; host bits set
// (10.0.0.1/8 would trust the whole /8 where one proxy was meant), as an
// IPv4-mapped range shorter than /96 has (its ffff); or wider than
// widestTrusted allows. An IPv4-mapped range of /96 or longer is read as
// the IPv4 range it names, as peers are compared unmapped.
func trustedRange(c string) (netip.Prefix, string) {
	pr, err := netip.ParsePrefix(c)
	if err != nil {
		a, aerr := netip.ParseAddr(c)
		if aerr != nil {
			return netip.Prefix{}, "is not an address or CIDR like 10.0.0.0/8"
		}
		pr = netip.PrefixFrom(a, a.BitLen())
	}
	if pr != pr.Masked() {
		return netip.Prefix{}, fmt.Sprintf("has bits set past its /%d: write %s for that one address, or %s for the range", pr.Bits(), pr.Addr(), pr.Masked())
	}
	if pr.Addr().Is4In6() && pr.Bits() >= 96 {
		// Peers are compared unmapped: ::ffff:10.0.0.0/104 is 10.0.0.0/8,
		// and is bounded as one. (A shorter one has bits set past its
		// length: the ffff.)
		pr = netip.PrefixFrom(pr.Addr().Unmap(), pr.Bits()-96)
	}
	if widest := widestTrusted(pr.Addr()); pr.Bits() < widest {
		return netip.Prefix{}, fmt.Sprintf("is wider than /%d and would trust identity headers from nearly any address; list the proxies' own addresses", widest)
	}
	return pr, ""
}

// widestTrusted is the shortest prefix length a trusted-proxy range of
// addr's family may have: /8 for IPv4; /7 for IPv6 unique local
// addresses (fc00::/7, a private network's like 10.0.0.0/8) and /32 for
// any other IPv6 range (a whole provider's allocation; a cloud network's
// is /56 or /48). Anything wider hands sign-in to whoever can reach the
// port.
func widestTrusted(addr netip.Addr) int {
	switch {
	case addr.Is4():
		return 8
	case netip.MustParsePrefix("fc00::/7").Contains(addr):
		return 7
	}
	return 32
}

// decodeKey accepts standard or URL-safe base64, padded or not.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) < 32 {
				return nil, fmt.Errorf("%d bytes is too short; generate one with `openssl rand -base64 32`", len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("not base64; generate one with `openssl rand -base64 32`")
}

// devSessionKey reads the dev session key from dataDir, creating it on
// first use, so dev sign-ins survive restarts.
func devSessionKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, "session.key")
	if b, err := os.ReadFile(path); err == nil {
		return decodeKey(string(b))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}
