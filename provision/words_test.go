package provision

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// plannedFor builds the plan of scopes under the default settings (and
// the account given), for the summary and containment tables.
func plannedFor(t *testing.T, account string, spec RoleSpec) Plan {
	t.Helper()
	set := DefaultSettings()
	set.AccountID = account
	set.AllowedManagedPolicies = []string{"AmazonSSMManagedInstanceCore", "ReadOnlyAccess"}
	if spec.Name == "" {
		spec.Name = "words"
	}
	p, err := NewPlan(spec, set, PlanMeta{RequestID: "t"})
	if err != nil {
		t.Fatalf("NewPlan: %v", err)
	}
	return p
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	expiry := time.Date(2031, 1, 31, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		account string
		spec    RoleSpec
		access  []string
		text    string
		short   string
	}{{
		name: "the issue's example",
		spec: RoleSpec{Buckets: []BucketScope{
			{Bucket: "analytics-raw", Prefix: "reports/", Access: AccessRead},
			{Bucket: "analytics-curated", Prefix: "etl/", Access: AccessReadWrite},
		}},
		access: []string{
			"list keys under `etl/` in `analytics-curated`",
			"read, write and delete objects under `analytics-curated/etl/`",
			"list keys under `reports/` in `analytics-raw`",
			"read objects under `analytics-raw/reports/`",
		},
		text: "List keys under `etl/` in `analytics-curated`; read, write and delete objects under `analytics-curated/etl/`; " +
			"list keys under `reports/` in `analytics-raw`; read objects under `analytics-raw/reports/`. " +
			"For EC2 instances in this account, sessions of up to 1 hour; never expires.",
	}, {
		name:    "whole bucket, write only, managed policy, account, expiry, 12 hours",
		account: "123456789012",
		spec: RoleSpec{Buckets: []BucketScope{{Bucket: "drop-box", Access: AccessWrite}, {Bucket: "logs", Access: AccessRead}},
			ManagedPolicies: []string{"AmazonSSMManagedInstanceCore"}, MaxSessionDuration: 43200, ExpiresAt: &expiry},
		access: []string{"write any object in `drop-box`", "list every key in `logs`", "read any object in `logs`"},
		text: "Write any object in `drop-box`; list every key in `logs`; read any object in `logs`. " +
			"Also the managed policy AmazonSSMManagedInstanceCore. " +
			"For EC2 instances in account 123456789012, sessions of up to 12 hours; expires 2031-01-31 00:00 UTC.",
		short: "write any object in `drop-box`; list every key in `logs`; read any object in `logs`; +1 managed policy; expires 2031-01-31 00:00 UTC",
	}, {
		// The policy's `logs/logs*` also matches `logs/logs-old/...`: the
		// words must not call it a folder.
		name:   "prefix without slash is said as a start of keys",
		spec:   RoleSpec{Buckets: []BucketScope{{Bucket: "logs", Prefix: "logs", Access: AccessWrite}}},
		access: []string{"write objects whose keys start with `logs` in `logs`"},
	}, {
		name:   "read prefix without slash: listing and reading said as a start of keys",
		spec:   RoleSpec{Buckets: []BucketScope{{Bucket: "data", Prefix: "logs", Access: AccessRead}}},
		access: []string{"list keys starting with `logs` in `data`", "read objects whose keys start with `logs` in `data`"},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := plannedFor(t, tt.account, tt.spec)
			p.ExpiresAt = tt.spec.ExpiresAt
			s := Describe(p)
			if !reflect.DeepEqual(s.Access, tt.access) {
				t.Errorf("Access =\n%q\nwant\n%q", s.Access, tt.access)
			}
			if tt.text != "" && s.Text() != tt.text {
				t.Errorf("Text =\n%s\nwant\n%s", s.Text(), tt.text)
			}
			if tt.short != "" && s.Short() != tt.short {
				t.Errorf("Short =\n%s\nwant\n%s", s.Short(), tt.short)
			}
		})
	}
}

// TestDescribeFollowsThePolicy holds the words to the JSON: every action
// the rendered policy names is said by a clause with its verb, and no
// clause names a verb whose action is absent.
func TestDescribeFollowsThePolicy(t *testing.T) {
	t.Parallel()
	verbs := map[string]string{"s3:ListBucket": "list ", "s3:GetObject": "read", "s3:PutObject": "write", "s3:DeleteObject": "delete"}
	for _, a := range Accesses() {
		p := plannedFor(t, "", RoleSpec{Buckets: []BucketScope{{Bucket: "b-1", Prefix: "p/", Access: a}}})
		words := strings.Join(Describe(p).Access, "; ")
		for action, verb := range verbs {
			if strings.Contains(p.Policy.Document, `"`+action+`"`) != strings.Contains(words, verb) {
				t.Errorf("%s: policy %s, words %q disagree on %s", a, p.Policy.Document, words, action)
			}
		}
	}
}
