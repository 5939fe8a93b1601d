package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rolegate/rolegate/provision"
)

// SpecDiff is what a change request changes, scope by scope.
type SpecDiff struct {
	Added   []provision.BucketScope
	Removed []provision.BucketScope
	// Changed scopes keep bucket and prefix but change access.
	Changed []ScopeChange
	Other   []string // description, session, managed policies, expiry
}

// expiryKept reports whether a change whose spec asks for expiry next
// keeps the expiry in force of a role whose live version asked for live:
// it does when it asks for the same one (to the microsecond the database
// keeps), or, like the live version, for none. Any other expiry, or none
// where one was asked, is an explicit change.
func expiryKept(live, next *time.Time) bool {
	if live == nil || next == nil {
		return live == nil && next == nil
	}
	return live.UnixMicro() == next.UnixMicro()
}

// KeepsExpiry reports whether spec, as a change of the live role
// changeOf (as GetRequest returns it; the zero Request for a new request),
// keeps the expiry in force. RequestChange then asks nothing of the
// expiry spec repeats, which may have passed (a lifetime counts from
// activation), so a preview must not check it as one asked for.
func KeepsExpiry(changeOf Request, spec provision.RoleSpec) bool {
	return changeOf.LiveVersion != 0 && changeOf.Version == changeOf.LiveVersion && expiryKept(changeOf.Spec.ExpiresAt, spec.ExpiresAt)
}

// SpecToCheck is spec as RequestChange checks it, changeOf as for
// KeepsExpiry: without the expiry when the change keeps the one in force,
// which asks for nothing new and may repeat an expiry already past. The
// previews check and plan this, so they agree with the submission.
func SpecToCheck(changeOf Request, spec provision.RoleSpec) provision.RoleSpec {
	if KeepsExpiry(changeOf, spec) {
		spec.ExpiresAt = nil
	}
	return spec
}

// changeDiff is what a change to a live role changes: DiffSpecs of the
// live and the new spec, and, when the change asks for another expiry
// (expiryKept is false), that expiry against the one in force (inForce,
// the request's expires_at; nil when the role never expires), so
// approvers see an extension: "expiry 2026-12-04 -> 2027-09-28 (extension)".
func changeDiff(live provision.RoleSpec, inForce *time.Time, next provision.RoleSpec) SpecDiff {
	d := DiffSpecs(live, next)
	if !expiryKept(live.ExpiresAt, next.ExpiresAt) {
		d.Other = append(d.Other, expiryLine(inForce, next.ExpiresAt))
	}
	return d
}

// expiryLine describes moving the expiry from (in force) to to, by date;
// to the minute when both fall on the same day.
func expiryLine(from, to *time.Time) string {
	layout := time.DateOnly
	if from != nil && to != nil && from.UTC().Format(layout) == to.UTC().Format(layout) {
		layout = "2006-01-02 15:04 UTC"
	}
	show := func(t *time.Time) string {
		if t == nil {
			return "none"
		}
		return t.UTC().Format(layout)
	}
	var what string
	switch {
	case to == nil:
		what = "never expires"
	case from == nil:
		what = "set"
	case to.After(*from):
		what = "extension"
	case to.Before(*from):
		what = "shortened"
	default:
		what = "same"
	}
	return fmt.Sprintf("expiry %s -> %s (%s)", show(from), show(to), what)
}

// ScopeChange is one scope whose access level changed.
type ScopeChange struct {
	Bucket, Prefix string
	From, To       provision.Access
}

// DiffSpecs compares two versions of a spec, their expiry excepted: what
// a change does to the expiry is judged against the expiry in force
// (changeDiff), not against the live version's spec.
func DiffSpecs(old, new provision.RoleSpec) SpecDiff {
	type key struct{ b, p string }
	oldScopes := map[key]provision.Access{}
	for _, s := range old.Buckets {
		oldScopes[key{s.Bucket, s.Prefix}] = s.Access
	}
	var d SpecDiff
	seen := map[key]bool{}
	for _, s := range new.Buckets {
		k := key{s.Bucket, s.Prefix}
		seen[k] = true
		switch prev, ok := oldScopes[k]; {
		case !ok:
			d.Added = append(d.Added, s)
		case prev != s.Access:
			d.Changed = append(d.Changed, ScopeChange{Bucket: s.Bucket, Prefix: s.Prefix, From: prev, To: s.Access})
		}
	}
	for _, s := range old.Buckets {
		if !seen[key{s.Bucket, s.Prefix}] {
			d.Removed = append(d.Removed, s)
		}
	}
	if old.Description != new.Description {
		d.Other = append(d.Other, "description changed")
	}
	// A spec without a session length (0) gets IAM's default of an hour,
	// as the plan does: leaving the form's "1 hour (default)" on a role
	// asked with 3600 is no change, and dropping 7200 goes to 3600, not 0.
	if from, to := sessionSeconds(old), sessionSeconds(new); from != to {
		d.Other = append(d.Other, fmt.Sprintf("max session %ds -> %ds", from, to))
	}
	if !slices.Equal(old.ManagedPolicies, new.ManagedPolicies) {
		d.Other = append(d.Other, fmt.Sprintf("managed policies %v -> %v", old.ManagedPolicies, new.ManagedPolicies))
	}
	return d
}

// sessionSeconds is the longest session spec gives its role, in seconds.
func sessionSeconds(spec provision.RoleSpec) int32 {
	if spec.MaxSessionDuration == 0 {
		return provision.MinSessionSeconds
	}
	return spec.MaxSessionDuration
}

// Lines renders the diff one change per line: "+ `bucket/prefix`
// (access)", each bucket/prefix quoted as the words quote it
// (provision.Quoted), so a prefix, which may hold spaces, parentheses and
// semicolons, cannot add words or a line of its own.
func (d SpecDiff) Lines() []string {
	scope := func(b, p string) string { return provision.Quoted(b + "/" + p) }
	var out []string
	for _, s := range d.Added {
		out = append(out, fmt.Sprintf("+ %s (%s)", scope(s.Bucket, s.Prefix), s.Access))
	}
	for _, s := range d.Removed {
		out = append(out, fmt.Sprintf("- %s (%s)", scope(s.Bucket, s.Prefix), s.Access))
	}
	for _, c := range d.Changed {
		out = append(out, fmt.Sprintf("~ %s (%s -> %s)", scope(c.Bucket, c.Prefix), c.From, c.To))
	}
	for _, o := range d.Other {
		out = append(out, "~ "+o)
	}
	return out
}

// PolicyDiff renders the permission policy of both specs under the
// settings, keeping the name and path of the live role roleARN (empty:
// none), and returns how they differ as a unified diff (unifiedDiff), so
// approvers of a change see what it grants beyond the scopes' summary, and
// in which statement. It returns nil when the two are the same, or when
// either spec cannot be planned (the validator reports that elsewhere).
func PolicyDiff(old, new provision.RoleSpec, roleARN string, set provision.Settings) []string {
	render := func(spec provision.RoleSpec) []string {
		spec.ExpiresAt = nil // not part of the policy; may be in the past for the live version
		p, err := provision.NewPlan(spec, set.Keeping(spec.Account, spec.Name, roleARN), provision.PlanMeta{RequestID: "diff"})
		if err != nil {
			return nil
		}
		var b bytes.Buffer
		if err := json.Indent(&b, []byte(p.Policy.Document), "", "  "); err != nil {
			return nil
		}
		return strings.Split(b.String(), "\n")
	}
	a, b := render(old), render(new)
	if a == nil || b == nil {
		return nil
	}
	return unifiedDiff(a, b, policyDiffContext)
}

// policyDiffContext is how many unchanged lines a policy diff shows on
// each side of a change, as git and diff -u do: enough to name the
// statement (its Sid and actions) an added or removed resource is in.
const policyDiffContext = 3

// unifiedDiff compares two short texts line by line (longest common
// subsequence) and returns the unified diff of them with context lines of
// context: a hunk header "@@ -1,4 +1,6 @@" (the line ranges of the old and
// the new text, as diff -u counts them), then its lines, each as it is
// after a two-character mark: "+ " added, "- " removed, "  " unchanged.
// Two texts the same give nil.
func unifiedDiff(a, b []string, context int) []string {
	type op struct {
		mark byte // ' ', '+' or '-'
		line string
		i, j int // lines of a and of b before this one
	}
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []op
	for i, j := 0, 0; i < n || j < m; {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, op{' ', a[i], i, j})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', a[i], i, j}) // removed lines first, as diff -u
			i++
		default:
			ops = append(ops, op{'+', b[j], i, j})
			j++
		}
	}
	var out []string
	for k := 0; k < len(ops); {
		if ops[k].mark == ' ' {
			k++
			continue
		}
		// A hunk: context before its first change, then on through every
		// change whose gap from the last is at most twice the context (diff
		// -u's rule), then context after its last change.
		from, last := max(0, k-context), k+1
		for to := k + 1; to < len(ops) && to-last <= 2*context; to++ {
			if ops[to].mark != ' ' {
				last = to + 1
			}
		}
		to := min(len(ops), last+context)
		var oldLines, newLines int
		for _, o := range ops[from:to] {
			if o.mark != '+' {
				oldLines++
			}
			if o.mark != '-' {
				newLines++
			}
		}
		out = append(out, fmt.Sprintf("@@ -%s +%s @@", hunkRange(ops[from].i, oldLines), hunkRange(ops[from].j, newLines)))
		for _, o := range ops[from:to] {
			out = append(out, string(o.mark)+" "+o.line)
		}
		k = to
	}
	return out
}

// hunkRange is one side of a hunk header as diff -u writes it: the first
// line (counted from 1) and how many, ",1" left out; an empty side names
// the line before it.
func hunkRange(before, lines int) string {
	switch lines {
	case 0:
		return fmt.Sprintf("%d,0", before)
	case 1:
		return fmt.Sprint(before + 1)
	}
	return fmt.Sprintf("%d,%d", before+1, lines)
}
