package store

import (
	"fmt"
	"slices"

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

// ScopeChange is one scope whose access level changed.
type ScopeChange struct {
	Bucket, Prefix string
	From, To       provision.Access
}

// DiffSpecs compares two versions of a spec.
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
	if old.MaxSessionDuration != new.MaxSessionDuration {
		d.Other = append(d.Other, fmt.Sprintf("max session %ds -> %ds", old.MaxSessionDuration, new.MaxSessionDuration))
	}
	if !slices.Equal(old.ManagedPolicies, new.ManagedPolicies) {
		d.Other = append(d.Other, fmt.Sprintf("managed policies %v -> %v", old.ManagedPolicies, new.ManagedPolicies))
	}
	switch {
	case old.ExpiresAt == nil && new.ExpiresAt != nil:
		d.Other = append(d.Other, "expiry set")
	case old.ExpiresAt != nil && new.ExpiresAt == nil:
		d.Other = append(d.Other, "expiry removed")
	case old.ExpiresAt != nil && !old.ExpiresAt.Equal(*new.ExpiresAt):
		d.Other = append(d.Other, "expiry changed")
	}
	return d
}

// Lines renders the diff one change per line: "+ bucket/prefix (access)".
func (d SpecDiff) Lines() []string {
	scope := func(b, p string) string { return b + "/" + p }
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
