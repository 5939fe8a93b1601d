package provision

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	past := testTime.Add(-time.Hour)
	future := testTime.Add(time.Hour)
	tenYears := testTime.AddDate(10, 0, 0)
	tooFar := tenYears.Add(time.Second)
	// Valid RFC 3339, and the year 10000 in UTC, which JSON cannot write.
	year10000, err := time.Parse(time.RFC3339, "9999-12-31T23:59:59-23:00")
	if err != nil {
		t.Fatal(err)
	}
	y2400 := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)
	ok := BucketScope{Bucket: "team-data", Access: AccessRead}
	guard := testSettings()
	guard.NamePrefix = "rg-"
	guard.AllowedBuckets = []string{"team-*", "shared-logs"}
	guard.DeniedBuckets = []string{"team-secret*"}
	guard.MaxScopes = 3
	scope := func(b, p string, a Access) []BucketScope { return []BucketScope{{Bucket: b, Prefix: p, Access: a}} }
	many := func(n int) []BucketScope {
		var out []BucketScope
		for i := 0; i < n; i++ {
			out = append(out, BucketScope{Bucket: "team-b" + strings.Repeat("x", i%3) + string(rune('a'+i%26)), Prefix: strings.Repeat("p", i) + "/", Access: AccessReadWrite})
		}
		return out
	}
	tests := []struct {
		name  string
		spec  RoleSpec
		set   Settings
		field string // "" means valid
		msg   string // exact message when set, else a substring of it
		exact bool
	}{
		{"valid", RoleSpec{Name: "reader", Buckets: []BucketScope{ok}}, guard, "", "", false},
		{"name required", RoleSpec{Buckets: []BucketScope{ok}}, guard, "name", "role name is required", true},
		{"name characters", RoleSpec{Name: "my role", Buckets: []BucketScope{ok}}, guard, "name", `role name may contain only letters, digits and + = , . @ _ - (found " ")`, true},
		{"name with prefix too long", RoleSpec{Name: strings.Repeat("a", 62), Buckets: []BucketScope{ok}}, guard, "name", `role name must be at most 61 characters after the prefix "rg-" is added`, false},
		{"name too long", RoleSpec{Name: strings.Repeat("a", 65), Buckets: []BucketScope{ok}}, testSettings(), "name", "at most 64 characters (it has 65)", false},
		{"description too long", RoleSpec{Name: "r", Description: strings.Repeat("d", 1001), Buckets: []BucketScope{ok}}, guard, "description", "description must be at most 1000 characters (it has 1001)", true},
		{"description charset", RoleSpec{Name: "r", Description: "emoji 😀", Buckets: []BucketScope{ok}}, guard, "description", "printable Latin-1", false},
		{"description control", RoleSpec{Name: "r", Description: "bell\a", Buckets: []BucketScope{ok}}, guard, "description", "control character U+0007", false},
		{"no buckets", RoleSpec{Name: "r"}, guard, "buckets", "at least one bucket is required", true},
		{"too many scopes", RoleSpec{Name: "r", Buckets: many(4)}, guard, "buckets", "at most 3 bucket scopes", false},
		{"bucket required", RoleSpec{Name: "r", Buckets: scope("", "", AccessRead)}, guard, "buckets[0].bucket", "bucket name is required", true},
		{"bucket short", RoleSpec{Name: "r", Buckets: scope("ab", "", AccessRead)}, testSettings(), "buckets[0].bucket", "3 to 63 characters long (it has 2)", false},
		{"bucket long", RoleSpec{Name: "r", Buckets: scope(strings.Repeat("a", 64), "", AccessRead)}, testSettings(), "buckets[0].bucket", "3 to 63", false},
		{"bucket upper case", RoleSpec{Name: "r", Buckets: scope("Team-data", "", AccessRead)}, testSettings(), "buckets[0].bucket", `lower-case letters, digits, dots and hyphens (found "T")`, false},
		{"bucket underscore", RoleSpec{Name: "r", Buckets: scope("team_data", "", AccessRead)}, testSettings(), "buckets[0].bucket", "lower-case letters", false},
		{"bucket edge", RoleSpec{Name: "r", Buckets: scope("team-data-", "", AccessRead)}, testSettings(), "buckets[0].bucket", "start and end with", false},
		{"bucket double dot", RoleSpec{Name: "r", Buckets: scope("team..data", "", AccessRead)}, testSettings(), "buckets[0].bucket", "two dots in a row", false},
		{"bucket IP", RoleSpec{Name: "r", Buckets: scope("192.168.5.4", "", AccessRead)}, testSettings(), "buckets[0].bucket", "must not look like an IP address", false},
		{"bucket xn--", RoleSpec{Name: "r", Buckets: scope("xn--data", "", AccessRead)}, testSettings(), "buckets[0].bucket", `starting with "xn--" are reserved`, false},
		{"bucket sthree-", RoleSpec{Name: "r", Buckets: scope("sthree-data", "", AccessRead)}, testSettings(), "buckets[0].bucket", `"sthree-"`, false},
		{"bucket amzn-s3-demo-", RoleSpec{Name: "r", Buckets: scope("amzn-s3-demo-data", "", AccessRead)}, testSettings(), "buckets[0].bucket", `"amzn-s3-demo-"`, false},
		{"bucket -s3alias", RoleSpec{Name: "r", Buckets: scope("data-s3alias", "", AccessRead)}, testSettings(), "buckets[0].bucket", `ending with "-s3alias"`, false},
		{"bucket --ol-s3", RoleSpec{Name: "r", Buckets: scope("data--ol-s3", "", AccessRead)}, testSettings(), "buckets[0].bucket", `"--ol-s3"`, false},
		{"bucket .mrap", RoleSpec{Name: "r", Buckets: scope("data.mrap", "", AccessRead)}, testSettings(), "buckets[0].bucket", `".mrap"`, false},
		{"bucket --x-s3", RoleSpec{Name: "r", Buckets: scope("data--x-s3", "", AccessRead)}, testSettings(), "buckets[0].bucket", `"--x-s3"`, false},
		{"bucket --table-s3", RoleSpec{Name: "r", Buckets: scope("data--table-s3", "", AccessRead)}, testSettings(), "buckets[0].bucket", `"--table-s3"`, false},
		{"bucket wildcard", RoleSpec{Name: "r", Buckets: scope("team-*", "", AccessRead)}, testSettings(), "buckets[0].bucket", "bucket name must not contain the wildcards * or ?; name one bucket per scope", true},
		{"bucket question mark", RoleSpec{Name: "r", Buckets: scope("team-?", "", AccessRead)}, testSettings(), "buckets[0].bucket", "wildcards", false},
		{"bucket ARN", RoleSpec{Name: "r", Buckets: scope("arn:aws:s3:::team-data", "", AccessRead)}, testSettings(), "buckets[0].bucket", "give the bucket name only, not an ARN", true},
		{"bucket variable", RoleSpec{Name: "r", Buckets: scope("team-${aws:username}", "", AccessRead)}, testSettings(), "buckets[0].bucket", "policy variable", false},
		{"bucket slash", RoleSpec{Name: "r", Buckets: scope("team-data/logs", "", AccessRead)}, testSettings(), "buckets[0].bucket", "prefix field", false},
		{"bucket not allowed", RoleSpec{Name: "r", Buckets: scope("other-data", "", AccessRead)}, guard, "buckets[0].bucket", `bucket "other-data" is not one you may request; allowed buckets are team-*, shared-logs`, true},
		{"bucket denied", RoleSpec{Name: "r", Buckets: scope("team-secrets", "", AccessRead)}, guard, "buckets[0].bucket", "denied", false},
		{"access missing", RoleSpec{Name: "r", Buckets: scope("team-data", "", "")}, guard, "buckets[0].access", "access is required: read, write or read-write", true},
		{"access unknown", RoleSpec{Name: "r", Buckets: scope("team-data", "", "admin")}, guard, "buckets[0].access", `(got "admin")`, false},
		{"prefix wildcard", RoleSpec{Name: "r", Buckets: scope("team-data", "logs/*", AccessRead)}, guard, "buckets[0].prefix", "must not contain * or ?", false},
		{"prefix question", RoleSpec{Name: "r", Buckets: scope("team-data", "logs?", AccessRead)}, guard, "buckets[0].prefix", "must not contain * or ?", false},
		{"prefix leading slash", RoleSpec{Name: "r", Buckets: scope("team-data", "/logs/", AccessRead)}, guard, "buckets[0].prefix", "must not start with /", false},
		{"prefix dot dot", RoleSpec{Name: "r", Buckets: scope("team-data", "logs/../secret/", AccessRead)}, guard, "buckets[0].prefix", `must not contain ".." as a path segment`, false},
		{"prefix control", RoleSpec{Name: "r", Buckets: scope("team-data", "logs\n", AccessRead)}, guard, "buckets[0].prefix", "control character U+000A", false},
		{"prefix ARN", RoleSpec{Name: "r", Buckets: scope("team-data", "arn:aws:s3:::x", AccessRead)}, guard, "buckets[0].prefix", "not an ARN", false},
		{"prefix too long", RoleSpec{Name: "r", Buckets: scope("team-data", strings.Repeat("é", 513), AccessRead)}, guard, "buckets[0].prefix", "at most 1024 bytes long (it has 1026)", false},
		{"prefix invalid UTF-8", RoleSpec{Name: "r", Buckets: scope("team-data", "\xff", AccessRead)}, guard, "buckets[0].prefix", "UTF-8", false},
		{"prefix backtick", RoleSpec{Name: "r", Buckets: scope("team-data", craftedPrefix, AccessRead)}, guard, "buckets[0].prefix",
			"prefix must not contain a backtick (`); AWS advises against it in object keys", true},
		{"duplicate scope", RoleSpec{Name: "r", Buckets: []BucketScope{ok, ok}}, guard, "buckets[1]", `repeats bucket "team-data" (whole bucket) of scope 1`, false},
		{"overlapping scopes", RoleSpec{Name: "r", Buckets: []BucketScope{{Bucket: "team-data", Prefix: "logs/", Access: AccessRead}, {Bucket: "team-data", Prefix: "logs/app/", Access: AccessWrite}}}, guard, "buckets[1]",
			`overlaps scope 1 on bucket "team-data" (prefix "logs/" contains prefix "logs/app/"); merge them into one scope with the access you need`, true},
		{"whole bucket overlaps prefix", RoleSpec{Name: "r", Buckets: []BucketScope{{Bucket: "team-data", Prefix: "logs/", Access: AccessRead}, ok}}, guard, "buckets[1]", "the whole bucket contains", false},
		{"session too short", RoleSpec{Name: "r", Buckets: []BucketScope{ok}, MaxSessionDuration: 60}, guard, "max_session_duration", "max session duration must be between 3600 (1 hour) and 43200 (12 hours) seconds (got 60)", true},
		{"session too long", RoleSpec{Name: "r", Buckets: []BucketScope{ok}, MaxSessionDuration: 43201}, guard, "max_session_duration", "43200", false},
		{"managed not allowed", RoleSpec{Name: "r", Buckets: []BucketScope{ok}, ManagedPolicies: []string{"AdministratorAccess"}}, guard, "managed_policies[0]", `managed policy "AdministratorAccess" is not allowed; choose from`, false},
		{"managed by ARN allowed", RoleSpec{Name: "r", Buckets: []BucketScope{ok}, ManagedPolicies: []string{"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "CloudWatchAgentServerPolicy"}}, guard, "", "", false},
		{"managed duplicate", RoleSpec{Name: "r", Buckets: []BucketScope{ok}, ManagedPolicies: []string{"AmazonSSMManagedInstanceCore", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"}}, guard, "managed_policies[1]", "listed twice (also as policy 1)", false},
		{"managed invalid", RoleSpec{Name: "r", Buckets: []BucketScope{ok}, ManagedPolicies: []string{"bad name"}}, guard, "managed_policies[0]", "not a managed policy name", false},
		{"managed none allowed", RoleSpec{Name: "r", Buckets: []BucketScope{ok}, ManagedPolicies: []string{"AmazonSSMManagedInstanceCore"}}, DefaultSettings(), "managed_policies[0]", "no managed policies may be requested", false},
		{"expiry past", RoleSpec{Name: "r", Buckets: []BucketScope{ok}, ExpiresAt: &past}, guard, "expires_at", "expiry must be in the future (it is 2026-01-02T02:04:05Z)", true},
		{"expiry future", RoleSpec{Name: "r", Buckets: []BucketScope{ok}, ExpiresAt: &future}, guard, "", "", false},
		{"expiry ten years ahead", RoleSpec{Name: "r", Buckets: []BucketScope{ok}, ExpiresAt: &tenYears}, guard, "", "", false},
		{"expiry past ten years", RoleSpec{Name: "r", Buckets: []BucketScope{ok}, ExpiresAt: &tooFar}, guard, "expires_at",
			"expiry must be at most 10 years ahead, no later than 2036-01-02T03:04:05Z (it is 2036-01-02T03:04:06Z); for a role that should not expire, set no expiry", true},
		{"expiry in 2400", RoleSpec{Name: "r", Buckets: []BucketScope{ok}, ExpiresAt: &y2400}, guard, "expires_at", "at most 10 years ahead", false},
		{"expiry in the year 10000", RoleSpec{Name: "r", Buckets: []BucketScope{ok}, ExpiresAt: &year10000}, guard, "expires_at", "(it is 10000-01-01T22:59:59Z)", false},
		{"policy too large", RoleSpec{Name: "r", Buckets: func() []BucketScope {
			var out []BucketScope
			for i := 0; i < 40; i++ {
				out = append(out, BucketScope{Bucket: "team-data", Prefix: strings.Repeat("x", 60) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "/", Access: AccessReadWrite})
			}
			return out
		}()}, func() Settings { s := testSettings(); return s }(), "buckets", "more than IAM's limit of 10240", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantProblem(t, tt.spec.validate(tt.set, testTime), tt.field, tt.msg, tt.exact)
		})
	}
}

// wantProblem fails the test unless err is nil when field is "", or else a
// *ValidationError with a problem at field whose message is msg (exact) or
// holds it.
func wantProblem(t *testing.T, err error, field, msg string, exact bool) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	for _, p := range verr.Problems {
		if p.Field == field && (exact && p.Message == msg || !exact && strings.Contains(p.Message, msg)) {
			return
		}
	}
	t.Errorf("no problem on %s with message %q; got %v", field, msg, verr.Problems)
}

// TestValidateBucketOneFaultOneMessage: a bucket name gets one message,
// for the first rule it breaks, and messages count scopes from 1 as people
// do (field paths stay 0-based).
func TestValidateBucketOneFaultOneMessage(t *testing.T) {
	t.Parallel()
	for _, b := range []string{"Team-Reports", "team-data-", "UP", "Team..x", "-a.b"} {
		err := RoleSpec{Name: "r", Buckets: []BucketScope{{Bucket: b, Access: AccessRead}}}.Validate(testSettings())
		var verr *ValidationError
		if !errors.As(err, &verr) || len(verr.Problems) != 1 {
			t.Errorf("bucket %q: want one problem, got %v", b, err)
		}
	}
	spec := RoleSpec{Name: "r", Buckets: []BucketScope{{Bucket: "team-a", Access: AccessRead}, {Bucket: "Team-B", Access: AccessRead}, {Bucket: "team-a", Prefix: "logs/", Access: AccessRead}}}
	var verr *ValidationError
	if !errors.As(spec.Validate(testSettings()), &verr) {
		t.Fatal("want *ValidationError")
	}
	for _, p := range verr.Problems {
		if strings.Contains(p.Message, "buckets[") {
			t.Errorf("%s: message names a field path: %q", p.Field, p.Message)
		}
	}
}

// TestValidateReportsEverything: one spec, many problems, all reported.
func TestValidateReportsEverything(t *testing.T) {
	t.Parallel()
	spec := RoleSpec{Name: "bad name", Description: "😀", MaxSessionDuration: 1,
		Buckets: []BucketScope{{Bucket: "UP", Prefix: "/x", Access: "all"}}}
	err := spec.Validate(testSettings())
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	fields := map[string]bool{}
	for _, p := range verr.Problems {
		fields[p.Field] = true
	}
	for _, f := range []string{"name", "description", "max_session_duration", "buckets[0].bucket", "buckets[0].prefix", "buckets[0].access"} {
		if !fields[f] {
			t.Errorf("no problem reported for %s: %v", f, verr.Problems)
		}
	}
	if !strings.HasPrefix(err.Error(), "invalid role spec: name: ") {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultSettings().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := Settings{RolePath: "rolegate", NamePrefix: "a b", Partition: "gcp", AccountID: "12",
		PermissionsBoundaryARN: "arn:aws:s3:::x", AllowedBuckets: []string{"Team"}, DeniedBuckets: []string{"a/b"},
		AllowedManagedPolicies: []string{"not valid"}, MaxScopes: 0, Tags: map[string]string{"managed-by": "me", "aws:x": "y", "ok": "bad{}"}}
	var verr *ValidationError
	if !errors.As(bad.Validate(), &verr) {
		t.Fatal("want *ValidationError")
	}
	want := []string{"role_path", "name_prefix", "partition", "account_id", "permissions_boundary", "allowed_buckets[0]", "denied_buckets[0]",
		"allowed_managed_policies[0]", "max_scopes", "tags[managed-by]", "tags[aws:x]", "tags[ok]"}
	got := map[string]bool{}
	for _, p := range verr.Problems {
		got[p.Field] = true
	}
	for _, f := range want {
		if !got[f] {
			t.Errorf("no problem for %s; got %v", f, verr.Problems)
		}
	}
}
