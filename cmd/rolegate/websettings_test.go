package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func parseWeb(t *testing.T, dev bool, dataDir string, env map[string]string, args ...string) (webSettings, string) {
	t.Helper()
	var errs settingErrors
	var w webSettings
	fs := newFlagSet("serve", "serve", &bytes.Buffer{})
	getenv := func(k string) string { return env[k] }
	if dev {
		w.registerDev(fs, getenv, &errs)
	} else {
		w.register(fs, getenv, &errs)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	id := w.identity(dataDir, &errs)
	_ = id
	if err := errs.err(fs); err != nil {
		return w, err.Error()
	}
	return w, ""
}

func TestWebSettings(t *testing.T) {
	t.Parallel()
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	cases := []struct {
		name    string
		dev     bool
		env     map[string]string
		args    []string
		wantErr []string
	}{
		{"serve without sign-in is allowed", false, nil, nil, nil},
		{"oidc", false, map[string]string{"SESSION_KEY": key}, []string{"--oidc-issuer", "https://id.example", "--oidc-client-id", "rolegate",
			"--oidc-redirect-url", "https://rolegate.example/auth/callback"}, nil},
		{"oidc without key", false, nil, []string{"--oidc-issuer", "https://id.example", "--oidc-client-id", "x", "--oidc-redirect-url", "https://r/auth/callback"},
			[]string{"session key: required"}},
		{"oidc missing client", false, map[string]string{"SESSION_KEY": key}, []string{"--oidc-issuer", "https://id.example"}, []string{"client ID"}},
		{"proxy", false, map[string]string{"SESSION_KEY": key, "TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5"}, nil, nil},
		{"widest allowed proxy ranges", false, map[string]string{"SESSION_KEY": key, "TRUSTED_PROXIES": "10.0.0.0/8,fc00::/7,2001:db8::1"}, nil, nil},
		{"proxy range of everyone refused", false, map[string]string{"SESSION_KEY": key, "TRUSTED_PROXIES": "0.0.0.0/0"}, nil,
			[]string{`TRUSTED_PROXIES: "0.0.0.0/0" is wider than /8 and would trust identity headers from nearly any address; list the proxies' own addresses`}},
		{"IPv6 range of everyone refused", false, map[string]string{"SESSION_KEY": key}, []string{"--trusted-proxies", "10.1.2.3, ::/0"},
			[]string{`--trusted-proxies / TRUSTED_PROXIES: "::/0" is wider than /32`}},
		{"a provider's IPv6 allocation refused", false, map[string]string{"SESSION_KEY": key, "TRUSTED_PROXIES": "2600::/7,2600:1f18::/31"}, nil,
			[]string{`"2600::/7" is wider than /32`, `"2600:1f18::/31" is wider than /32`}},
		{"an IPv6 network of one's own", false, map[string]string{"SESSION_KEY": key, "TRUSTED_PROXIES": "2600:1f18::/32,2600:1f18:4000::/56"}, nil, nil},
		{"an address with a range's length refused", false, map[string]string{"SESSION_KEY": key, "TRUSTED_PROXIES": "10.0.0.1/8"}, nil,
			[]string{`"10.0.0.1/8" has bits set past its /8: write 10.0.0.1 for that one address, or 10.0.0.0/8 for the range`}},
		{"IPv4-mapped space shorter than /96 refused", false, map[string]string{"SESSION_KEY": key, "TRUSTED_PROXIES": "::ffff:0:0/95"}, nil,
			[]string{`"::ffff:0:0/95" has bits set past its /95`}},
		{"proxy range just too wide refused", false, map[string]string{"SESSION_KEY": key, "TRUSTED_PROXIES": "10.0.0.0/7,fc00::/6"}, nil,
			[]string{`"10.0.0.0/7" is wider than /8`, `"fc00::/6" is wider than /7`}},
		{"bad proxy CIDR", false, map[string]string{"SESSION_KEY": key}, []string{"--trusted-proxies", "10.0.0.0/99"}, []string{`"10.0.0.0/99" is not an address`}},
		{"dev users with oidc refused", true, map[string]string{"SESSION_KEY": key, "OIDC_ISSUER": "https://id.example", "OIDC_CLIENT_ID": "x",
			"OIDC_REDIRECT_URL": "https://r/auth/callback"}, nil, []string{"choose one of dev users, OIDC and trusted proxy headers"}},
		{"dev users with proxy refused", false, map[string]string{"SESSION_KEY": key, "DEV_USERS": "true", "TRUSTED_PROXIES": "127.0.0.1"}, nil,
			[]string{"choose one of"}},
		{"short key", false, map[string]string{"SESSION_KEY": "c2hvcnQ="}, nil, []string{"too short"}},
		{"bad bool", false, map[string]string{"COOKIE_SECURE": "perhaps"}, nil, []string{`COOKIE_SECURE: "perhaps"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, errs := parseWeb(t, tc.dev, t.TempDir(), tc.env, tc.args...)
			if len(tc.wantErr) == 0 && errs != "" {
				t.Fatalf("unexpected errors:\n%s", errs)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(errs, w) {
					t.Errorf("errors lack %q:\n%s", w, errs)
				}
			}
		})
	}
}

func TestDevSessionKeyPersists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var errs settingErrors
	var a, b webSettings
	for _, w := range []*webSettings{&a, &b} {
		fs := newFlagSet("dev", "dev", &bytes.Buffer{})
		w.registerDev(fs, func(string) string { return "" }, &errs)
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
	}
	first, second := a.identity(dir, &errs), b.identity(dir, &errs)
	if len(errs) > 0 || !first.DevUsers || len(first.SessionKey) != 32 || !bytes.Equal(first.SessionKey, second.SessionKey) {
		t.Fatalf("errs %v, dev %v, key %d bytes, same %v", errs, first.DevUsers, len(first.SessionKey), bytes.Equal(first.SessionKey, second.SessionKey))
	}
}

// TestTrustedProxyMappedRangeIsIPv4: a range written IPv4-mapped in IPv6
// (::ffff:10.0.0.0/104) trusts the IPv4 peers it names, as peers are
// compared unmapped, and is held to IPv4's bound: ::ffff:0.0.0.0/96 is
// every IPv4 address.
func TestTrustedProxyMappedRangeIsIPv4(t *testing.T) {
	t.Parallel()
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	var errs settingErrors
	var w webSettings
	fs := newFlagSet("serve", "serve", &bytes.Buffer{})
	w.register(fs, func(k string) string { return map[string]string{"SESSION_KEY": key}[k] }, &errs)
	if err := fs.Parse([]string{"--trusted-proxies", "::ffff:10.0.0.0/104, ::ffff:192.168.1.5"}); err != nil {
		t.Fatal(err)
	}
	id := w.identity("", &errs)
	if err := errs.err(fs); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(id.Proxy.Trusted)
	if got != "[10.0.0.0/8 192.168.1.5/32]" {
		t.Errorf("trusted ranges %s, want [10.0.0.0/8 192.168.1.5/32]", got)
	}
	if _, errs := parseWeb(t, false, t.TempDir(), map[string]string{"SESSION_KEY": key, "TRUSTED_PROXIES": "::ffff:0.0.0.0/96"}); !strings.Contains(errs, `"::ffff:0.0.0.0/96" is wider than /8`) {
		t.Errorf("every IPv4 address, written mapped, was not refused: %q", errs)
	}
}

// A refused trusted-proxy range is said once: not followed by "at least
// one proxy address range is required", which sent the reader looking for
// a second mistake.
func TestRefusedTrustedProxyIsSaidOnce(t *testing.T) {
	t.Parallel()
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	_, errs := parseWeb(t, false, t.TempDir(), map[string]string{"SESSION_KEY": key, "TRUSTED_PROXIES": "0.0.0.0/0"})
	if !strings.Contains(errs, `"0.0.0.0/0" is wider than /8`) || strings.Contains(errs, "at least one proxy address range") {
		t.Errorf("errors:\n%s", errs)
	}
}
