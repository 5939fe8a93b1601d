package auth

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store"
)

func TestProxyActor(t *testing.T) {
	t.Parallel()
	roles := RoleGroups{Approver: []string{"approvers"}, Admin: []string{"admins"}}
	def := Identity{Proxy: &ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}.withDefaults().Proxy
	custom := Identity{Proxy: &ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		UserHeader: "Remote-User", EmailHeader: "Remote-Email", GroupsHeader: "Remote-Groups"}}.withDefaults().Proxy
	for _, tc := range []struct {
		name    string
		p       *ProxyConfig
		peer    string
		headers map[string]string
		want    string // "" when no actor
		groups  []string
		roles   []store.Role
	}{
		{name: "trusted peer", p: def, peer: "10.1.2.3:5000",
			headers: map[string]string{"X-Forwarded-User": " alice ", "X-Forwarded-Groups": " approvers, ,staff "},
			want:    "alice", groups: []string{"approvers", "staff"}, roles: []store.Role{store.RoleRequester, store.RoleApprover}},
		{name: "untrusted peer", p: def, peer: "192.0.2.7:5000",
			headers: map[string]string{"X-Forwarded-User": "alice", "X-Forwarded-Groups": "admins"}},
		{name: "forwarded-for does not make a peer trusted", p: def, peer: "192.0.2.7:5000",
			headers: map[string]string{"X-Forwarded-User": "alice", "X-Forwarded-For": "10.1.2.3", "X-Real-Ip": "10.1.2.3"}},
		{name: "IPv4-mapped IPv6 peer", p: def, peer: "[::ffff:10.9.9.9]:5000",
			headers: map[string]string{"X-Forwarded-User": "alice"}, want: "alice", roles: []store.Role{store.RoleRequester}},
		{name: "peer without port", p: def, peer: "10.0.0.1",
			headers: map[string]string{"X-Forwarded-User": "alice"}, want: "alice", roles: []store.Role{store.RoleRequester}},
		{name: "unparsable peer", p: def, peer: "somewhere",
			headers: map[string]string{"X-Forwarded-User": "alice"}},
		{name: "email when no user", p: def, peer: "10.0.0.1:1",
			headers: map[string]string{"X-Forwarded-Email": "alice@example.com", "X-Forwarded-Groups": "admins"},
			want:    "alice@example.com", groups: []string{"admins"}, roles: []store.Role{store.RoleRequester, store.RoleAdmin}},
		{name: "nobody named", p: def, peer: "10.0.0.1:1", headers: map[string]string{"X-Forwarded-Groups": "admins"}},
		{name: "blank user", p: def, peer: "10.0.0.1:1", headers: map[string]string{"X-Forwarded-User": "   "}},
		{name: "over-long user", p: def, peer: "10.0.0.1:1", headers: map[string]string{"X-Forwarded-User": strings.Repeat("a", 201)}},
		{name: "200 characters is fine", p: def, peer: "10.0.0.1:1", headers: map[string]string{"X-Forwarded-User": strings.Repeat("a", 200)},
			want: strings.Repeat("a", 200), roles: []store.Role{store.RoleRequester}},
		{name: "custom header names", p: custom, peer: "10.0.0.1:1",
			headers: map[string]string{"Remote-User": "bob", "Remote-Groups": "admins", "X-Forwarded-User": "mallory"},
			want:    "bob", groups: []string{"admins"}, roles: []store.Role{store.RoleRequester, store.RoleAdmin}},
		{name: "custom names ignore the default headers", p: custom, peer: "10.0.0.1:1",
			headers: map[string]string{"X-Forwarded-User": "mallory", "X-Forwarded-Email": "mallory@example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := peerRequest("/", tc.peer, tc.headers)
			got, ok := proxyActor(tc.p, roles, r)
			if tc.want == "" {
				if ok {
					t.Fatalf("proxyActor = %+v, want none", got)
				}
				return
			}
			if !ok || got.Name != tc.want || !slices.Equal(got.Groups, tc.groups) || !slices.Equal(got.Roles, tc.roles) {
				t.Fatalf("proxyActor = %+v, %v; want %q groups %v roles %v", got, ok, tc.want, tc.groups, tc.roles)
			}
		})
	}
}

func TestRolesForGroups(t *testing.T) {
	t.Parallel()
	open := RoleGroups{Approver: []string{"approvers"}, Admin: []string{"admins", "root"}}
	closed := RoleGroups{Requester: []string{"staff"}, Approver: []string{"approvers"}, Admin: []string{"admins"}}
	req, app, adm := store.RoleRequester, store.RoleApprover, store.RoleAdmin
	for _, tc := range []struct {
		g      RoleGroups
		groups []string
		want   []store.Role
	}{
		{open, nil, []store.Role{req}},
		{open, []string{"approvers"}, []store.Role{req, app}},
		{open, []string{"root", "approvers"}, []store.Role{req, app, adm}},
		{open, []string{"Admins"}, []store.Role{req}}, // group names are case-sensitive
		{closed, nil, nil},
		{closed, []string{"approvers"}, []store.Role{app}},
		{closed, []string{"staff", "admins"}, []store.Role{req, adm}},
	} {
		if got := tc.g.rolesFor(tc.groups); !slices.Equal(got, tc.want) {
			t.Errorf("%+v.rolesFor(%v) = %v, want %v", tc.g, tc.groups, got, tc.want)
		}
	}
}

func TestIdentityDefaultsAndMode(t *testing.T) {
	t.Parallel()
	p := Identity{Proxy: &ProxyConfig{}}.withDefaults().Proxy
	if p.UserHeader != "X-Forwarded-User" || p.EmailHeader != "X-Forwarded-Email" ||
		p.GroupsHeader != "X-Forwarded-Groups" || p.SignOutURL != "/oauth2/sign_out" {
		t.Errorf("proxy defaults = %+v", p)
	}
	for _, tc := range []struct {
		id   Identity
		want string
	}{
		{Identity{}, ""},
		{Identity{DevUsers: true}, "dev"},
		{Identity{OIDC: &OIDCConfig{}}, "oidc"},
		{Identity{Proxy: &ProxyConfig{}}, "proxy"},
	} {
		if got := tc.id.Mode(); got != tc.want {
			t.Errorf("Mode of %+v = %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestIdentityValidate(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	oidc := &OIDCConfig{Issuer: "https://idp", ClientID: "c", RedirectURL: "https://x/auth/callback"}
	for _, tc := range []struct {
		name string
		id   Identity
		want []string // substrings of the error; none: valid
	}{
		{"nothing", Identity{}, nil},
		{"dev without key", Identity{DevUsers: true}, nil},
		{"proxy", Identity{Proxy: &ProxyConfig{Trusted: trusted}, SessionKey: testKey}, nil},
		{"oidc", Identity{OIDC: oidc, SessionKey: testKey}, nil},
		{"several", Identity{DevUsers: true, Proxy: &ProxyConfig{Trusted: trusted}, SessionKey: testKey}, []string{"choose one"}},
		{"short key", Identity{DevUsers: true, SessionKey: []byte("short")}, []string{"5 bytes is too short"}},
		{"proxy without key or ranges", Identity{Proxy: &ProxyConfig{}}, []string{"session key: required", "trusted proxies"}},
		{"oidc incomplete", Identity{OIDC: &OIDCConfig{Issuer: "https://idp", RedirectURL: "https://x/cb"}, SessionKey: testKey},
			[]string{"client ID", "must end in /auth/callback"}},
	} {
		err := tc.id.Validate()
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v, want valid", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: valid, want %v", tc.name, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
	}
}
