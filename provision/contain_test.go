package provision

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestScopeWithin(t *testing.T) {
	t.Parallel()
	sc := func(b, p string, a Access) BucketScope { return BucketScope{Bucket: b, Prefix: p, Access: a} }
	for _, tt := range []struct {
		name         string
		inner, outer BucketScope
		want         bool
	}{
		{"same scope", sc("logs", "a/", AccessRead), sc("logs", "a/", AccessRead), true},
		{"logs/ is inside logs", sc("b", "logs/", AccessRead), sc("b", "logs", AccessRead), true},
		{"logs is not inside logs/ (logs-old/ matches logs)", sc("b", "logs", AccessRead), sc("b", "logs/", AccessRead), false},
		{"a/b/ inside a/", sc("b", "a/b/", AccessRead), sc("b", "a/", AccessRead), true},
		{"a/ not inside a/b/", sc("b", "a/", AccessRead), sc("b", "a/b/", AccessRead), false},
		{"sibling prefixes", sc("b", "a/c/", AccessRead), sc("b", "a/b/", AccessRead), false},
		{"empty prefix is the whole bucket", sc("b", "any/thing", AccessRead), sc("b", "", AccessRead), true},
		{"whole bucket not inside a prefix", sc("b", "", AccessRead), sc("b", "a/", AccessRead), false},
		{"whole bucket inside whole bucket", sc("b", "", AccessWrite), sc("b", "", AccessReadWrite), true},
		{"other bucket", sc("b2", "a/", AccessRead), sc("b", "", AccessReadWrite), false},
		{"bucket name prefix is not containment", sc("logs-old", "", AccessRead), sc("logs", "", AccessRead), false},
		{"read within read-write", sc("b", "a/", AccessRead), sc("b", "a/", AccessReadWrite), true},
		{"write within read-write", sc("b", "a/", AccessWrite), sc("b", "", AccessReadWrite), true},
		{"read-write not within read", sc("b", "a/", AccessReadWrite), sc("b", "", AccessRead), false},
		{"write not within read", sc("b", "a/", AccessWrite), sc("b", "", AccessRead), false},
		{"read not within write", sc("b", "a/", AccessRead), sc("b", "", AccessWrite), false},
		{"dollar prefixes compare as text", sc("b", "a$/x", AccessRead), sc("b", "a$", AccessRead), true},
	} {
		if got := ScopeWithin(tt.inner, tt.outer); got != tt.want {
			t.Errorf("%s: ScopeWithin(%+v, %+v) = %v, want %v", tt.name, tt.inner, tt.outer, got, tt.want)
		}
	}
}

func TestCovers(t *testing.T) {
	t.Parallel()
	live := []BucketScope{{Bucket: "etl", Prefix: "in/", Access: AccessReadWrite}, {Bucket: "ref", Access: AccessRead}}
	for _, tt := range []struct {
		asked []BucketScope
		want  bool
	}{
		{[]BucketScope{{Bucket: "etl", Prefix: "in/2026/", Access: AccessRead}, {Bucket: "ref", Prefix: "x", Access: AccessRead}}, true},
		{[]BucketScope{{Bucket: "etl", Prefix: "in", Access: AccessRead}}, false},
		{[]BucketScope{{Bucket: "etl", Prefix: "in/", Access: AccessRead}, {Bucket: "ref", Access: AccessWrite}}, false},
		{nil, false},
	} {
		if got := Covers(live, tt.asked); got != tt.want {
			t.Errorf("Covers(live, %+v) = %v, want %v", tt.asked, got, tt.want)
		}
	}
}

func TestNoNewAccess(t *testing.T) {
	t.Parallel()
	jan := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	feb := jan.AddDate(0, 1, 0)
	base := RoleSpec{Buckets: []BucketScope{{Bucket: "etl", Prefix: "in/", Access: AccessReadWrite}},
		ManagedPolicies: []string{"ReadOnlyAccess"}, MaxSessionDuration: 7200}
	with := func(f func(*RoleSpec)) RoleSpec {
		s := base
		s.Buckets = append([]BucketScope(nil), base.Buckets...)
		f(&s)
		return s
	}
	for _, tt := range []struct {
		name             string
		next             RoleSpec
		liveExp, nextExp *time.Time
		want             bool
		reason           string
	}{
		{"same", base, nil, nil, true, "within the live"},
		{"narrower prefix and access", with(func(s *RoleSpec) { s.Buckets[0] = BucketScope{Bucket: "etl", Prefix: "in/a/", Access: AccessRead} }), nil, nil, true, ""},
		{"drops the managed policy, shorter session", with(func(s *RoleSpec) { s.ManagedPolicies = nil; s.MaxSessionDuration = 3600 }), nil, nil, true, ""},
		{"wider prefix", with(func(s *RoleSpec) { s.Buckets[0].Prefix = "in" }), nil, nil, false, "is not within any live scope"},
		{"another bucket", with(func(s *RoleSpec) { s.Buckets = append(s.Buckets, BucketScope{Bucket: "new", Access: AccessRead}) }), nil, nil, false, "`new/` (read)"},
		{"adds a managed policy", with(func(s *RoleSpec) { s.ManagedPolicies = append(s.ManagedPolicies, "AmazonSSMManagedInstanceCore") }), nil, nil, false, "adds the managed policy AmazonSSMManagedInstanceCore"},
		{"longer session", with(func(s *RoleSpec) { s.MaxSessionDuration = 10800 }), nil, nil, false, "sessions grow from 2 hours to 3 hours"},
		{"sets an expiry where none", base, nil, &jan, true, ""},
		{"earlier expiry", base, &feb, &jan, true, ""},
		{"same expiry", base, &jan, &jan, true, ""},
		{"later expiry", base, &jan, &feb, false, "moves the expiry later"},
		{"removes the expiry", base, &jan, nil, false, "removes the expiry"},
	} {
		live, next := plannedFor(t, "", base), plannedFor(t, "", tt.next)
		live.ExpiresAt, next.ExpiresAt = tt.liveExp, tt.nextExp
		n := NoNewAccess(live, next)
		if n.NoNewAccess != tt.want || !strings.Contains(strings.Join(n.Reasons, "\n"), tt.reason) {
			t.Errorf("%s: NoNewAccess = %v %q, want %v with %q", tt.name, n.NoNewAccess, n.Reasons, tt.want, tt.reason)
		}
	}
}

func TestDiffAccess(t *testing.T) {
	t.Parallel()
	live := plannedFor(t, "", RoleSpec{Buckets: []BucketScope{{Bucket: "raw", Prefix: "reports/", Access: AccessRead}}})
	next := plannedFor(t, "", RoleSpec{Buckets: []BucketScope{{Bucket: "raw", Prefix: "reports/2026/", Access: AccessReadWrite}},
		ManagedPolicies: []string{"ReadOnlyAccess"}})
	got := DiffAccess(live, next).Text()
	want := "adds: write objects under `raw/reports/2026/`; delete objects under `raw/reports/2026/`; the managed policy ReadOnlyAccess; " +
		"narrows: list keys under `reports/` in `raw` to `raw/reports/2026/`; read objects under `raw/reports/` to `raw/reports/2026/`"
	if got != want {
		t.Errorf("DiffAccess =\n%s\nwant\n%s", got, want)
	}
	if got := DiffAccess(live, live).Text(); got != "no change to access" {
		t.Errorf("DiffAccess(same) = %q", got)
	}
}

// A live grant that the change keeps only in part is narrowed, to the
// prefixes kept, not removed; a grant kept nowhere is removed.
func TestDiffAccessNarrows(t *testing.T) {
	t.Parallel()
	live := plannedFor(t, "", RoleSpec{Buckets: []BucketScope{
		{Bucket: "raw", Prefix: "logs/", Access: AccessReadWrite},
		{Bucket: "raw", Prefix: "old/", Access: AccessRead},
		{Bucket: "bk2", Access: AccessWrite},
	}})
	for _, tt := range []struct {
		name             string
		next             []BucketScope
		narrows, removes []string
	}{
		{"one folder kept", []BucketScope{{Bucket: "raw", Prefix: "logs/a/", Access: AccessRead}, {Bucket: "raw", Prefix: "old/", Access: AccessRead},
			{Bucket: "bk2", Access: AccessWrite}},
			[]string{"list keys under `logs/` in `raw` to `raw/logs/a/`", "read objects under `raw/logs/` to `raw/logs/a/`"},
			[]string{"write objects under `raw/logs/`", "delete objects under `raw/logs/`"}},
		{"two prefixes kept, one not a folder", []BucketScope{{Bucket: "raw", Prefix: "logs/a/", Access: AccessReadWrite},
			{Bucket: "raw", Prefix: "logs/b", Access: AccessWrite}},
			[]string{"list keys under `logs/` in `raw` to `raw/logs/a/`", "read objects under `raw/logs/` to `raw/logs/a/`",
				"write objects under `raw/logs/` to `raw/logs/a/` and keys starting with `raw/logs/b`",
				"delete objects under `raw/logs/` to `raw/logs/a/`"},
			[]string{"write any object in `bk2`", "list keys under `old/` in `raw`", "read objects under `raw/old/`"}},
		{"the whole bucket narrowed", []BucketScope{{Bucket: "raw", Prefix: "logs/", Access: AccessReadWrite},
			{Bucket: "raw", Prefix: "old/", Access: AccessRead}, {Bucket: "bk2", Prefix: "in/", Access: AccessWrite}},
			[]string{"write any object in `bk2` to `bk2/in/`"}, nil},
	} {
		next := plannedFor(t, "", RoleSpec{Buckets: tt.next})
		c := DiffAccess(live, next)
		if len(c.Adds) != 0 || !slices.Equal(c.Narrows, tt.narrows) || !slices.Equal(c.Removes, tt.removes) {
			t.Errorf("%s: DiffAccess = adds %q\nnarrows %q\nremoves %q\nwant narrows %q\nremoves %q", tt.name, c.Adds, c.Narrows, c.Removes, tt.narrows, tt.removes)
		}
	}
	// The other way round it is no narrowing: the wider grant is added.
	narrow := plannedFor(t, "", RoleSpec{Buckets: []BucketScope{{Bucket: "raw", Prefix: "logs/a/", Access: AccessRead}}})
	wide := plannedFor(t, "", RoleSpec{Buckets: []BucketScope{{Bucket: "raw", Prefix: "logs/", Access: AccessRead}}})
	if got := DiffAccess(narrow, wide).Text(); got != "adds: list keys under `logs/` in `raw`; read objects under `raw/logs/`" {
		t.Errorf("DiffAccess(wider) = %q", got)
	}
}

func TestAssessRisks(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	soon, far := now.AddDate(0, 0, 30), now.AddDate(0, 0, 200)
	codes := func(rs []Risk) string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Code)
		}
		return strings.Join(out, ",")
	}
	quiet := RoleSpec{Buckets: []BucketScope{{Bucket: "bk1", Prefix: "x/", Access: AccessRead}}}
	loud := RoleSpec{Buckets: []BucketScope{{Bucket: "bk1", Access: AccessReadWrite}, {Bucket: "bk2", Access: AccessRead},
		{Bucket: "bk3", Prefix: "p/", Access: AccessWrite}, {Bucket: "bk4", Access: AccessRead}}, ManagedPolicies: []string{"ReadOnlyAccess"}}
	qp, lp := plannedFor(t, "", quiet), plannedFor(t, "", loud)
	qp.ExpiresAt = &soon
	lpFar := lp
	lpFar.ExpiresAt = &far
	for _, tt := range []struct {
		name string
		p    Plan
		th   RiskThresholds
		c    RiskContext
		want string
	}{
		{"nothing to flag", qp, RiskThresholds{}, RiskContext{Now: now}, ""},
		{"everything but shared and widens", lp, RiskThresholds{}, RiskContext{Now: now}, "whole-bucket-write,delete,many-buckets,no-expiry,managed-policies"},
		{"long expiry, threshold raised", lpFar, RiskThresholds{MaxBuckets: 4, MaxExpiryDays: 100}, RiskContext{Now: now}, "whole-bucket-write,delete,long-expiry,managed-policies"},
		{"expiry within threshold", lpFar, RiskThresholds{MaxBuckets: 4, MaxExpiryDays: 365}, RiskContext{Now: now}, "whole-bucket-write,delete,managed-policies"},
		{"shared bucket at the threshold", qp, RiskThresholds{SharedBucketRoles: 2}, RiskContext{Now: now, OtherRoles: map[string]int{"bk1": 2}}, "shared-bucket"},
		{"shared bucket under the threshold", qp, RiskThresholds{SharedBucketRoles: 3}, RiskContext{Now: now, OtherRoles: map[string]int{"bk1": 2}}, ""},
		{"a change that widens", lp, RiskThresholds{MaxBuckets: 10}, RiskContext{Now: now, Live: &qp}, "whole-bucket-write,delete,no-expiry,managed-policies,widens"},
		{"a change that narrows", qp, RiskThresholds{}, RiskContext{Now: now, Live: &qp}, ""},
	} {
		if got := codes(AssessRisks(tt.p, tt.th, tt.c)); got != tt.want {
			t.Errorf("%s: risks %q, want %q", tt.name, got, tt.want)
		}
	}
	msg := AssessRisks(lp, RiskThresholds{}, RiskContext{Now: now})
	if msg[0].Message != "writes anywhere in `bk1` (no prefix)" || msg[2].Message != "reaches 4 buckets (more than 3)" {
		t.Errorf("messages: %+v", msg)
	}
}
