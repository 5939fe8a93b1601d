package provision

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Within reports whether level a grants nothing level b does not: read
// and write are each within read-write, and neither within the other.
func (a Access) Within(b Access) bool {
	for _, g := range a.grants() {
		if !b.has(g) {
			return false
		}
	}
	return len(a.grants()) > 0
}

// prefixWithin reports whether every key under inner is also under outer.
// Prefixes are plain string prefixes, as IAM matches `BUCKET/PREFIX*` and
// `s3:prefix` like `PREFIX*`: `logs/` is within `logs` (which also
// matches `logs-old/`), `logs` is not within `logs/`, `a/b/` is within
// `a/`, and the empty prefix (the whole bucket) contains every prefix.
func prefixWithin(inner, outer string) bool {
	return strings.HasPrefix(inner, outer)
}

// ScopeWithin reports whether outer grants everything inner grants: the
// same bucket, inner's prefix inside outer's, and inner's access within
// outer's. Overlap is judged from the scopes alone, never from policy text.
func ScopeWithin(inner, outer BucketScope) bool {
	return inner.Bucket == outer.Bucket && prefixWithin(inner.Prefix, outer.Prefix) && inner.Access.Within(outer.Access)
}

// CoveringScope returns the first scope of by that grants all of s.
func CoveringScope(s BucketScope, by []BucketScope) (BucketScope, bool) {
	for _, o := range by {
		if ScopeWithin(s, o) {
			return o, true
		}
	}
	return BucketScope{}, false
}

// Covers reports whether by grants all of scopes, each scope inside one
// scope of by (the reuse check: an existing role that already grants
// everything a new request asks).
func Covers(by, scopes []BucketScope) bool {
	for _, s := range scopes {
		if _, ok := CoveringScope(s, by); !ok {
			return false
		}
	}
	return len(scopes) > 0
}

// Narrowing is the verdict on a change: whether its plan grants nothing
// the live plan does not, and why (each condition checked, in words).
type Narrowing struct {
	NoNewAccess bool
	// Reasons lists each condition: all of them when NoNewAccess, the
	// failing ones otherwise.
	Reasons []string
}

// NoNewAccess judges whether next grants nothing live does not: every
// scope of next inside a scope of live at an equal or lower access level,
// no managed policy that live lacks, a session no longer, an expiry no
// later (p.ExpiresAt: the expiry in force for live, the one asked for
// next; nil never expires), the same permissions boundary and trust.
func NoNewAccess(live, next Plan) Narrowing {
	var ok, bad []string
	for _, s := range next.Scopes {
		if o, found := CoveringScope(s, live.Scopes); found {
			ok = append(ok, fmt.Sprintf("%s is within the live %s", scopeLabel(s), scopeLabel(o)))
		} else {
			bad = append(bad, fmt.Sprintf("%s is not within any live scope", scopeLabel(s)))
		}
	}
	added := 0
	for _, m := range next.ManagedPolicies {
		if !slices.Contains(live.ManagedPolicies, m) {
			bad = append(bad, "adds the managed policy "+ManagedPolicyName(m))
			added++
		}
	}
	if added == 0 {
		ok = append(ok, "adds no managed policy")
	}
	if ls, ns := live.Role.MaxSessionDuration, next.Role.MaxSessionDuration; ns > ls {
		bad = append(bad, fmt.Sprintf("sessions grow from %s to %s", hoursText(ls), hoursText(ns)))
	} else {
		ok = append(ok, fmt.Sprintf("sessions of up to %s (live: %s)", hoursText(ns), hoursText(ls)))
	}
	switch {
	case live.ExpiresAt != nil && next.ExpiresAt == nil:
		bad = append(bad, "removes the expiry "+live.ExpiresAt.UTC().Format(time.DateOnly))
	case live.ExpiresAt != nil && next.ExpiresAt.After(*live.ExpiresAt):
		bad = append(bad, fmt.Sprintf("moves the expiry later, from %s to %s",
			live.ExpiresAt.UTC().Format(time.DateOnly), next.ExpiresAt.UTC().Format(time.DateOnly)))
	default:
		ok = append(ok, "the expiry is not later")
	}
	if live.Role.PermissionsBoundaryARN != next.Role.PermissionsBoundaryARN || live.Role.TrustPolicy != next.Role.TrustPolicy {
		bad = append(bad, "changes the permissions boundary or the trust policy")
	}
	if len(bad) > 0 {
		return Narrowing{Reasons: bad}
	}
	return Narrowing{NoNewAccess: true, Reasons: ok}
}

// AccessChange is what a change does to a role's access, in the words of
// Describe: each grant the new plan has and the live one does not
// (Adds), each live grant the new plan keeps only under narrower prefixes
// (Narrows: "read objects under `raw/logs/` to `raw/logs/a/`"), and each
// live grant the new plan keeps nowhere (Removes).
type AccessChange struct {
	Adds, Narrows, Removes []string
}

// DiffAccess compares two plans grant by grant: a grant is kept when a
// grant of the same kind on the same bucket covers its prefix, and
// narrowed when grants of its kind remain only inside its prefix.
func DiffAccess(live, next Plan) AccessChange {
	var c AccessChange
	// A grant of next wider than live's is added whole, whatever live
	// keeps inside it.
	c.Adds, _ = uncoveredGrants(next.Scopes, live.Scopes, false)
	c.Removes, c.Narrows = uncoveredGrants(live.Scopes, next.Scopes, true)
	for _, m := range next.ManagedPolicies {
		if !slices.Contains(live.ManagedPolicies, m) {
			c.Adds = append(c.Adds, "the managed policy "+ManagedPolicyName(m))
		}
	}
	for _, m := range live.ManagedPolicies {
		if !slices.Contains(next.ManagedPolicies, m) {
			c.Removes = append(c.Removes, "the managed policy "+ManagedPolicyName(m))
		}
	}
	if ls, ns := live.Role.MaxSessionDuration, next.Role.MaxSessionDuration; ns > ls {
		c.Adds = append(c.Adds, fmt.Sprintf("sessions of up to %s (from %s)", hoursText(ns), hoursText(ls)))
	} else if ns < ls {
		c.Removes = append(c.Removes, fmt.Sprintf("sessions longer than %s", hoursText(ns)))
	}
	return c
}

// Text is the change in one line: "adds: …; narrows: …; removes: …".
func (c AccessChange) Text() string {
	var parts []string
	if len(c.Adds) > 0 {
		parts = append(parts, "adds: "+strings.Join(c.Adds, "; "))
	}
	if len(c.Narrows) > 0 {
		parts = append(parts, "narrows: "+strings.Join(c.Narrows, "; "))
	}
	if len(c.Removes) > 0 {
		parts = append(parts, "removes: "+strings.Join(c.Removes, "; "))
	}
	if len(parts) == 0 {
		return "no change to access"
	}
	return strings.Join(parts, "; ")
}

// uncoveredGrants describes each grant of scopes that no grant of the same
// kind in by covers: with narrowing, as narrowed, to the prefixes by keeps
// inside it, when by has grants of its kind on its bucket under its
// prefix; else as gone.
// The scopes of one bucket never overlap (validation refuses it), so the
// prefixes kept inside are each named once.
func uncoveredGrants(scopes, by []BucketScope, narrowing bool) (gone, narrowed []string) {
	for _, s := range scopes {
		for _, g := range s.Access.grants() {
			covered := false
			var inside []string
			for _, o := range by {
				if o.Bucket != s.Bucket || !o.Access.has(g) {
					continue
				}
				if prefixWithin(s.Prefix, o.Prefix) {
					covered = true
					break
				}
				if prefixWithin(o.Prefix, s.Prefix) {
					inside = append(inside, o.Prefix)
				}
			}
			switch {
			case covered:
			case narrowing && len(inside) > 0:
				narrowed = append(narrowed, grantPhrase(g, s.Bucket, s.Prefix)+" to "+keysPhrase(s.Bucket, inside))
			default:
				gone = append(gone, grantPhrase(g, s.Bucket, s.Prefix))
			}
		}
	}
	return gone, narrowed
}

// keysPhrase names where the prefixes of bucket reach: "`raw/logs/a/`",
// or "keys starting with `raw/logs-a`" for a prefix that is not a folder.
func keysPhrase(bucket string, prefixes []string) string {
	var out []string
	for _, p := range prefixes {
		if strings.HasSuffix(p, "/") {
			out = append(out, Quoted(bucket+"/"+p))
		} else {
			out = append(out, "keys starting with "+Quoted(bucket+"/"+p))
		}
	}
	return andList(out)
}

// scopeLabel names a scope for reasons: "`b/p` (read)".
func scopeLabel(s BucketScope) string {
	return fmt.Sprintf("%s (%s)", Quoted(s.Bucket+"/"+s.Prefix), s.Access)
}
