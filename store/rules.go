package store

import (
	"fmt"
	"path"
	"sort"

	"github.com/rolegate/rolegate/provision"
)

// ApprovalRules decide how many approvals a request version needs and from
// whom.
type ApprovalRules struct {
	// Required approvals for an ordinary request; 0 means 1.
	Required int
	// Elevated approvals when any scope can write, or when the request
	// names more than ElevateOverBuckets buckets; 0 means 2.
	Elevated int
	// ElevateOverBuckets: more distinct buckets than this elevates; 0 means 5.
	ElevateOverBuckets int
	// Routes map bucket patterns (`*` matches any run) to approver groups;
	// a request touching a matching bucket also needs an approval from a
	// member of that group.
	Routes []Route
}

// Route sends requests for matching buckets to an approver group.
type Route struct {
	Pattern string
	Group   string
}

func (r ApprovalRules) withDefaults() ApprovalRules {
	if r.Required <= 0 {
		r.Required = 1
	}
	if r.Elevated <= 0 {
		r.Elevated = 2
	}
	if r.Elevated < r.Required {
		r.Elevated = r.Required
	}
	if r.ElevateOverBuckets <= 0 {
		r.ElevateOverBuckets = 5
	}
	return r
}

// Validate checks the rules; it returns an error naming the first bad
// pattern or count.
func (r ApprovalRules) Validate() error {
	if r.Required < 0 || r.Elevated < 0 || r.ElevateOverBuckets < 0 {
		return fmt.Errorf("approval counts must not be negative")
	}
	for _, rt := range r.Routes {
		if _, err := path.Match(rt.Pattern, "x"); err != nil || rt.Pattern == "" || rt.Group == "" {
			return fmt.Errorf("approval route %q -> %q: want PATTERN=GROUP with a valid pattern", rt.Pattern, rt.Group)
		}
	}
	return nil
}

// Needed is what a request version needs before it is approved.
type Needed struct {
	Approvals int
	// Groups each need an approval from one of their members.
	Groups []string
}

// Need returns the approvals spec needs under the rules.
func (r ApprovalRules) Need(spec provision.RoleSpec) Needed {
	r = r.withDefaults()
	n := Needed{Approvals: r.Required}
	buckets := map[string]bool{}
	groups := map[string]bool{}
	for _, s := range spec.Buckets {
		buckets[s.Bucket] = true
		if s.Access != provision.AccessRead {
			n.Approvals = r.Elevated
		}
		for _, rt := range r.Routes {
			if ok, _ := path.Match(rt.Pattern, s.Bucket); ok {
				groups[rt.Group] = true
			}
		}
	}
	if len(buckets) > r.ElevateOverBuckets {
		n.Approvals = r.Elevated
	}
	for g := range groups {
		n.Groups = append(n.Groups, g)
	}
	sort.Strings(n.Groups)
	return n
}

// mayDecide: an approver or admin may decide any request; a member of a
// routed group may decide the requests routed to it.
func (r ApprovalRules) mayDecide(a Actor, req Request) bool {
	if a.Has(RoleApprover) || a.Has(RoleAdmin) {
		return true
	}
	for _, g := range r.Need(req.Spec).Groups {
		if a.InGroup(g) {
			return true
		}
	}
	return false
}

// satisfied reports whether the approvals given (approver -> their groups)
// meet what is needed, and if not, what is missing, in words.
func (n Needed) satisfied(approvals map[string][]string) (bool, string) {
	if len(approvals) < n.Approvals {
		return false, fmt.Sprintf("%d of %d approvals", len(approvals), n.Approvals)
	}
	for _, g := range n.Groups {
		found := false
		for _, groups := range approvals {
			for _, have := range groups {
				if have == g {
					found = true
				}
			}
		}
		if !found {
			return false, "an approval from group " + g
		}
	}
	return true, ""
}
