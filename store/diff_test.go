package store_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

func TestPolicyDiffShowsWhatAChangeGrants(t *testing.T) {
	t.Parallel()
	old := provision.RoleSpec{Name: "r", Buckets: []provision.BucketScope{{Bucket: "alpha", Access: provision.AccessRead}}}
	escalated := old
	escalated.Buckets = []provision.BucketScope{{Bucket: "alpha", Access: provision.AccessReadWrite}}
	lines := store.PolicyDiff(old, escalated, "", provision.DefaultSettings())
	joined := strings.Join(lines, "\n")
	for _, want := range []string{`+         "s3:PutObject"`, `+         "s3:DeleteObject"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("policy diff lacks %s:\n%s", want, joined)
		}
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "+ ") && !strings.HasPrefix(l, "- ") && !strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "@@ ") {
			t.Errorf("line %q is neither a hunk header nor added, removed or unchanged", l)
		}
	}
	if same := store.PolicyDiff(old, old, "", provision.DefaultSettings()); len(same) != 0 {
		t.Fatalf("identical specs differ: %v", same)
	}
	bad := old
	bad.Buckets = []provision.BucketScope{{Bucket: "*", Access: provision.AccessRead}}
	if got := store.PolicyDiff(old, bad, "", provision.DefaultSettings()); got != nil {
		t.Fatalf("an invalid spec produced a diff: %v", got)
	}
}

// TestPolicyDiffSaysWhichStatementGrants: an approver reads from the
// policy diff which actions a newly listed resource gets. The diff kept
// only the changed lines, trimmed, so a bucket moved into a new write
// statement read as a bare `+ "arn:aws:s3:::data/*"` with no statement,
// no actions and no indentation around it.
func TestPolicyDiffSaysWhichStatementGrants(t *testing.T) {
	t.Parallel()
	old := provision.RoleSpec{Name: "r", Buckets: []provision.BucketScope{
		{Bucket: "logs", Prefix: "app/", Access: provision.AccessRead}, {Bucket: "data", Access: provision.AccessRead}}}
	next := old
	next.Buckets = []provision.BucketScope{
		{Bucket: "logs", Prefix: "app/", Access: provision.AccessRead}, {Bucket: "data", Access: provision.AccessReadWrite}}
	lines := store.PolicyDiff(old, next, "", provision.DefaultSettings())
	joined := strings.Join(lines, "\n")
	// The write statement as it stands in the new policy, indented as in
	// the document, its resource under its actions.
	at := slices.Index(lines, `+       "Sid": "PutObjects",`)
	if at < 0 {
		t.Fatalf("the diff does not show the new statement's Sid where it stands:\n%s", joined)
	}
	rest := strings.Join(lines[at:], "\n")
	put, data := strings.Index(rest, `"s3:PutObject"`), strings.Index(rest, `+         "arn:aws:s3:::data/*"`)
	if put < 0 || data < put {
		t.Errorf("the diff does not show data/* under the statement that puts objects:\n%s", joined)
	}
	if !strings.HasPrefix(lines[0], "@@ -") {
		t.Errorf("the diff does not start with a hunk header: %q", lines[0])
	}
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "  ") }) {
		t.Errorf("the diff shows no unchanged line around its changes:\n%s", joined)
	}
}

// TestUnifiedDiffIsDiffU: hunks, their headers and their context are
// what diff -u prints for the same two texts.
func TestUnifiedDiffIsDiffU(t *testing.T) {
	t.Parallel()
	lines := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, " ")
	}
	for _, c := range []struct {
		a, b string
		want []string
	}{
		{"a b c", "a b c", nil},
		{"", "x", []string{"@@ -0,0 +1 @@", "+ x"}},
		{"x", "", []string{"@@ -1 +0,0 @@", "- x"}},
		// diff -u: a replaced line, removed first.
		{"a b c d e f g h i", "a b c d X f g h i", []string{"@@ -2,7 +2,7 @@", "  b", "  c", "  d", "- e", "+ X", "  f", "  g", "  h"}},
		// Two changes 11 unchanged lines apart are two hunks.
		{"a b c d e f g h i j k l m", "a B c d e f g h i j k l m n", []string{
			"@@ -1,5 +1,5 @@", "  a", "- b", "+ B", "  c", "  d", "  e",
			"@@ -11,3 +11,4 @@", "  k", "  l", "  m", "+ n"}},
		// Six apart (twice the context) are one.
		{"a b c d e f g h", "A b c d e f g H", []string{
			"@@ -1,8 +1,8 @@", "- a", "+ A", "  b", "  c", "  d", "  e", "  f", "  g", "- h", "+ H"}},
		// Seven apart are two.
		{"a b c d e f g h i", "A b c d e f g h I", []string{
			"@@ -1,4 +1,4 @@", "- a", "+ A", "  b", "  c", "  d",
			"@@ -6,4 +6,4 @@", "  f", "  g", "  h", "- i", "+ I"}},
	} {
		if got := store.UnifiedDiff(lines(c.a), lines(c.b), 3); !slices.Equal(got, c.want) {
			t.Errorf("UnifiedDiff(%q, %q) =\n%q\nwant\n%q", c.a, c.b, got, c.want)
		}
	}
}

// spoofingPrefix is a prefix validation accepts that, shown bare after
// its bucket, goes on as a second line of its own: "+ b/tmp/ (read); -
// other/ (read)" reads as if the change also removed a scope.
const spoofingPrefix = "tmp/ (read); - other/"

// outsideQuotes is line with each backtick-quoted value put as "…": the
// words rolegate says itself.
func outsideQuotes(line string) string {
	var out []string
	for i, part := range strings.Split(line, "`") {
		if i%2 == 0 {
			out = append(out, part)
		}
	}
	return strings.Join(out, "…")
}

// TestDiffLinesKeepEachScopeInItsQuotes: a change's scope lines quote
// each bucket/prefix as the words do, so a prefix with spaces,
// parentheses and semicolons, or one stored before backticks were
// refused, cannot add a line's words of its own; ordinary scopes read as
// they are.
func TestDiffLinesKeepEachScopeInItsQuotes(t *testing.T) {
	t.Parallel()
	scope := func(prefix string, a provision.Access) provision.BucketScope {
		return provision.BucketScope{Bucket: "team-payroll", Prefix: prefix, Access: a}
	}
	const backticked = "in/` (read)\n- `team-payroll/archive/"
	old := provision.RoleSpec{Buckets: []provision.BucketScope{scope("", provision.AccessRead), scope(backticked, provision.AccessRead)}}
	next := provision.RoleSpec{Buckets: []provision.BucketScope{scope("", provision.AccessReadWrite), scope(spoofingPrefix, provision.AccessRead)}}
	got := store.DiffSpecs(old, next).Lines()
	want := []string{
		"+ `team-payroll/tmp/ (read); - other/` (read)",
		"- `team-payroll/in/\\u0060 (read)\\n- \\u0060team-payroll/archive/` (read)",
		"~ `team-payroll/` (read -> read-write)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Lines =\n%q\nwant\n%q", got, want)
	}
	for i, skeleton := range []string{"+ … (read)", "- … (read)", "~ … (read -> read-write)"} {
		if s := outsideQuotes(got[i]); s != skeleton {
			t.Errorf("line %q says %q outside its quotes, want %q", got[i], s, skeleton)
		}
	}
}

// TestChangeEventQuotesASpoofingPrefix: the diff a change's event keeps,
// which the request page and the API show, quotes a prefix a requester
// may submit today.
func TestChangeEventQuotesASpoofingPrefix(t *testing.T) {
	f, ctx := setup(t, store.Options{})
	live := activate(t, f, mustCreate(t, f.db, newRequest("payroll-reader", "alice", read("team-payroll"))))
	next := withScopes(live.Spec, read("team-payroll"), provision.BucketScope{Bucket: "other-bucket", Prefix: spoofingPrefix, Access: provision.AccessRead})
	if _, err := f.db.RequestChange(ctx, alice, live.ID, store.NewVersion{Spec: next, Justification: "reads tmp too"}); err != nil {
		t.Fatal(err)
	}
	if got, want := changeDiff(t, f.db, live.ID, 2), []string{"+ `other-bucket/tmp/ (read); - other/` (read)"}; !slices.Equal(got, want) {
		t.Fatalf("diff in the event = %q, want %q", got, want)
	}
}

// TestDiffSpecsSessionDefault: a spec without a session length gets the
// default hour. A change that left it out read "max session 7200s -> 0s",
// and one resending a role's explicit 3600 without it showed a change
// that was none.
func TestDiffSpecsSessionDefault(t *testing.T) {
	t.Parallel()
	base := provision.RoleSpec{Name: "r", Buckets: []provision.BucketScope{{Bucket: "alpha", Access: provision.AccessRead}}}
	with := func(secs int32) provision.RoleSpec {
		s := base
		s.MaxSessionDuration = secs
		return s
	}
	for _, tc := range []struct {
		old, new int32
		want     []string
	}{
		{7200, 0, []string{"~ max session 7200s -> 3600s"}},
		{0, 7200, []string{"~ max session 3600s -> 7200s"}},
		{3600, 0, nil},
		{0, 3600, nil},
		{0, 0, nil},
	} {
		if got := store.DiffSpecs(with(tc.old), with(tc.new)).Lines(); !slices.Equal(got, tc.want) {
			t.Errorf("session %d -> %d: diff %q, want %q", tc.old, tc.new, got, tc.want)
		}
	}
}
