package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
)

// The review settings take whole days or Go durations, from the flag or
// its environment variable, and are off by default.
func TestReviewSettings(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    store.ReviewPolicy
		wantErr string
	}{
		{"off by default", nil, nil, store.ReviewPolicy{Grace: 14 * day}, ""},
		{"days", []string{"--review-interval", "90d", "--review-grace", "7d"}, nil, store.ReviewPolicy{Interval: 90 * day, Grace: 7 * day}, ""},
		{"Go durations from the environment", nil, map[string]string{"REVIEW_INTERVAL": "2160h", "REVIEW_GRACE": "72h"},
			store.ReviewPolicy{Interval: 90 * day, Grace: 3 * day}, ""},
		{"the flag wins over the environment", []string{"--review-interval", "30d"}, map[string]string{"REVIEW_INTERVAL": "90d"},
			store.ReviewPolicy{Interval: 30 * day, Grace: 14 * day}, ""},
		{"too short", []string{"--review-interval", "10m"}, nil, store.ReviewPolicy{}, "--review-interval / REVIEW_INTERVAL: 10m is not 0 (off) or from 1h to 3650d"},
		{"negative days", []string{"--review-interval", "-3d"}, nil, store.ReviewPolicy{}, `"-3d" is not a number of days`},
		{"no grace", []string{"--review-grace", "0d"}, nil, store.ReviewPolicy{}, "--review-grace / REVIEW_GRACE: 0d is not from 1h to 365d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var errs settingErrors
			var a appSettings
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			a.register(fs, func(k string) string { return tc.env[k] }, &errs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			got := a.reviewPolicy(&errs)
			if tc.wantErr != "" {
				if len(errs) != 1 || !strings.Contains(errs[0].String(), tc.wantErr) {
					t.Fatalf("errors %q, want one saying %q", errs, tc.wantErr)
				}
				return
			}
			if len(errs) != 0 || got != tc.want {
				t.Fatalf("policy %+v, errors %q; want %+v", got, errs, tc.want)
			}
		})
	}
}

// A webhook URL that is not an http(s) URL is refused by its place in the
// list, without printing it: the URL may be the receiver's secret.
func TestWebhookURLsRefusedWithoutEchoingThem(t *testing.T) {
	t.Parallel()
	var errs settingErrors
	var a appSettings
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.register(fs, func(string) string { return "" }, &errs)
	if err := fs.Parse([]string{"--webhook-urls", "https://hooks.example.com/services/T0/B0/ok,hooks.example.com/services/T0/B0/sEcReT",
		"--webhook-secret", "s"}); err != nil {
		t.Fatal(err)
	}
	b := a.build(&errs)
	if len(errs) != 1 || !strings.Contains(errs[0].String(), "URL 2 of 2 is not an http(s) URL") || strings.Contains(errs[0].String(), "sEcReT") {
		t.Fatalf("errors %q, want one naming the second URL by its place only", errs)
	}
	if len(b.webhooks) != 1 {
		t.Fatalf("webhooks %q, want the valid one", b.webhooks)
	}
}

// The switches set from the environment read it as the others do: true
// or false (also 1, 0, t, f), and any other value is refused, naming it.
// DRIFT_REPAIR, AUTO_APPROVE_NARROWING and NO_WORKER took "true" alone and
// read every other value, "1" and "yes" included, as off without a word.
func TestSwitchesFromTheEnvironment(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env                 map[string]string
		repair, autoApprove bool
		wantErr             string
	}{
		{nil, false, false, ""},
		{map[string]string{"DRIFT_REPAIR": "true", "AUTO_APPROVE_NARROWING": "true"}, true, true, ""},
		{map[string]string{"DRIFT_REPAIR": "1", "AUTO_APPROVE_NARROWING": "1"}, true, true, ""},
		{map[string]string{"DRIFT_REPAIR": "false", "AUTO_APPROVE_NARROWING": "0"}, false, false, ""},
		{map[string]string{"DRIFT_REPAIR": "yes"}, false, false, `DRIFT_REPAIR: "yes" is not true or false`},
		{map[string]string{"AUTO_APPROVE_NARROWING": "on"}, false, false, `AUTO_APPROVE_NARROWING: "on" is not true or false`},
	} {
		var errs settingErrors
		var a appSettings
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		a.register(fs, func(k string) string { return tc.env[k] }, &errs)
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		if tc.wantErr != "" {
			if len(errs) != 1 || !strings.Contains(errs[0].String(), tc.wantErr) {
				t.Errorf("%v: errors %q, want one saying %q", tc.env, errs, tc.wantErr)
			}
			continue
		}
		if len(errs) != 0 || a.repairDrift != tc.repair || a.autoApprove != tc.autoApprove {
			t.Errorf("%v: repair %v, auto-approve %v, errors %q; want %v, %v", tc.env, a.repairDrift, a.autoApprove, errs, tc.repair, tc.autoApprove)
		}
	}
	_, _, err := runCmd(t, map[string]string{"NO_WORKER": "yes"}, "serve")
	if err == nil || !strings.Contains(err.Error(), `NO_WORKER: "yes" is not true or false`) {
		t.Errorf("serve with NO_WORKER=yes: %v, want it refused", err)
	}
}
