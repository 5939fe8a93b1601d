package provision

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// craftedPrefix closes the backtick quote around it and goes on with
// words of its own: a stored prefix must not make the words say that the
// scope was withdrawn.
const craftedPrefix = "tmp/` (none: scope withdrawn); list keys under `tmp/"

// craftedInWords is craftedPrefix as the words quote it.
const craftedInWords = `tmp/\u0060 (none: scope withdrawn); list keys under \u0060tmp/`

// outsideQuotes is the text of s outside its backtick quotes: the words
// rolegate says itself, with each quoted value left out.
func outsideQuotes(s string) string {
	var out []string
	for i, part := range strings.Split(s, "`") {
		if i%2 == 0 {
			out = append(out, part)
		}
	}
	return strings.Join(out, "…")
}

// TestWordsKeepACraftedPrefixQuoted: a prefix holding backticks stays
// inside its quotes in the access in words, the risk messages, the
// no-new-access reasons and a change's words. Validation refuses such a
// prefix now; a request stored before may hold one, and its plan is still
// built (to describe it, and to revoke the role).
func TestWordsKeepACraftedPrefixQuoted(t *testing.T) {
	t.Parallel()
	crafted := BucketScope{Bucket: "team-payroll", Prefix: craftedPrefix, Access: AccessReadWrite}
	p := plannedFor(t, "", RoleSpec{Buckets: []BucketScope{crafted}})
	s := Describe(p)
	want := []string{
		"list keys under `" + craftedInWords + "` in `team-payroll`",
		"read, write and delete objects under `team-payroll/" + craftedInWords + "`",
	}
	if !slices.Equal(s.Access, want) {
		t.Errorf("Access =\n%q\nwant\n%q", s.Access, want)
	}
	said := []string{s.Text(), s.Short()}
	risks := AssessRisks(p, RiskThresholds{}, RiskContext{Now: time.Now()})
	if i := slices.IndexFunc(risks, func(r Risk) bool { return r.Code == RiskDelete }); i < 0 ||
		risks[i].Message != "may delete objects under `team-payroll/"+craftedInWords+"`" {
		t.Errorf("risks: %+v", risks)
	}
	for _, r := range risks {
		said = append(said, r.Message)
	}
	// As a change's new version, and as the live version a change narrows.
	other := plannedFor(t, "", RoleSpec{Buckets: []BucketScope{{Bucket: "team-payroll", Prefix: "in/", Access: AccessRead}}})
	n := NoNewAccess(other, p)
	if want := "`team-payroll/" + craftedInWords + "` (read-write) is not within any live scope"; !slices.Contains(n.Reasons, want) {
		t.Errorf("reasons %q lack %q", n.Reasons, want)
	}
	said = append(said, n.Reasons...)
	inner := crafted
	inner.Prefix += "a/"
	narrowed := DiffAccess(p, plannedFor(t, "", RoleSpec{Buckets: []BucketScope{inner}}))
	if want := "read objects under `team-payroll/" + craftedInWords + "` to `team-payroll/" + craftedInWords + "a/`"; !slices.Contains(narrowed.Narrows, want) {
		t.Errorf("narrows %q lack %q", narrowed.Narrows, want)
	}
	said = append(said, narrowed.Text(), DiffAccess(other, p).Text(), DiffAccess(p, other).Text())
	for _, w := range said {
		if strings.Count(w, "`")%2 != 0 || strings.Contains(outsideQuotes(w), "withdrawn") {
			t.Errorf("the prefix ends its quote in %q", w)
		}
	}
}

// TestQuotedCannotBeEnded: whatever the value, its quote holds exactly
// the two backticks rolegate puts around it, nothing that looks like one
// or hides or moves text, and two values never read the same. Ordinary
// values are quoted as they are.
func TestQuotedCannotBeEnded(t *testing.T) {
	t.Parallel()
	values := []string{
		"`", "a`b", "``", craftedPrefix, `a\u0060b`, `a\b`, "line\nbreak", "cr\rlf", "tab\there", "nul\x00",
		"\u202eevil", "zero\u200bwidth", "\ufeffbom", "sep\u2028x", "\u0300leads", "\u20ddleads",
		"\u02cblook", "\uff40look", "\u2035look", "\u1fef", "bad\xffbyte", "\U0001F600/", "",
	}
	seen := map[string]string{}
	for _, v := range values {
		q := Quoted(v)
		inner, ok := strings.CutPrefix(q, "`")
		if inner, ok = strings.CutSuffix(inner, "`"); !ok || len(q) < 2 {
			t.Errorf("Quoted(%q) = %q: not between backticks", v, q)
			continue
		}
		if !utf8.ValidString(inner) {
			t.Errorf("Quoted(%q) = %q: not UTF-8", v, q)
		}
		for i, r := range inner {
			if strings.ContainsRune(backtickLookalikes, r) || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) ||
				(i == 0 && unicode.In(r, unicode.Mn, unicode.Me)) {
				t.Errorf("Quoted(%q) = %q holds %U", v, q, r)
			}
		}
		if w, dup := seen[q]; dup {
			t.Errorf("%q and %q are both quoted %q", w, v, q)
		}
		seen[q] = v
	}
	for _, v := range []string{"team-payroll/reports/2026/", "données/é/", "a b (c); d"} {
		if got := Quoted(v); got != "`"+v+"`" {
			t.Errorf("Quoted(%q) = %q, want it as it is", v, got)
		}
	}
}
