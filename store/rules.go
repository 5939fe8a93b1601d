package store

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

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
	// member of that group. A pattern starting with AccountRoute matches
	// the name of the request's account instead.
	Routes []Route
	// AutoApproveNarrowing lets the no-new-access rule approve a change
	// that grants nothing the live version does not (RuleNoNewAccess).
	AutoApproveNarrowing bool
	// Accounts are the accounts requests may name (provision.Settings'),
	// the first the default: an account's Approvals and ApprovalsElevated
	// replace Required and Elevated for requests into it.
	Accounts []provision.Account
}

// AccountRoute starts a route pattern that matches the request's account
// name rather than its buckets: "account:prod=prod-owners".
const AccountRoute = "account:"

// RuleNoNewAccess names the rule that approves a change granting no new
// access, in the decisions it records and in the audit trail.
const RuleNoNewAccess = "no-new-access"

// Route sends requests for matching buckets (or, for a pattern starting
// with AccountRoute, into a matching account) to an approver group.
type Route struct {
	Pattern string
	Group   string
}

// matches reports whether the route sends a request into account touching
// buckets to its group.
func (rt Route) matches(account string, buckets ...string) bool {
	if p, ok := strings.CutPrefix(rt.Pattern, AccountRoute); ok {
		m, _ := path.Match(p, account)
		return m
	}
	for _, b := range buckets {
		if m, _ := path.Match(rt.Pattern, b); m {
			return true
		}
	}
	return false
}

// forAccount is r with the approval counts of the account named name,
// when it sets them.
func (r ApprovalRules) forAccount(name string) ApprovalRules {
	for _, a := range r.Accounts {
		if a.Name != name {
			continue
		}
		if a.Approvals > 0 {
			r.Required = a.Approvals
		}
		if a.ApprovalsElevated > 0 {
			r.Elevated = a.ApprovalsElevated
		}
	}
	return r
}

// accountName is the name of the account a spec names: its own, or the
// default account's for "".
func (r ApprovalRules) accountName(spec provision.RoleSpec) string {
	if spec.Account != "" {
		return spec.Account
	}
	return r.accountNames()[0]
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

// patternChars are the characters of a route pattern: those of bucket
// names and the wildcards * and ?.
const patternChars = "abcdefghijklmnopqrstuvwxyz0123456789.-*?"

// Validate checks the rules; it returns an error naming the first bad
// pattern or count.
func (r ApprovalRules) Validate() error {
	if r.Required < 0 || r.Elevated < 0 || r.ElevateOverBuckets < 0 {
		return fmt.Errorf("approval counts must not be negative")
	}
	for _, rt := range r.Routes {
		pattern, account := strings.CutPrefix(rt.Pattern, AccountRoute)
		if _, err := path.Match(pattern, "x"); err != nil || pattern == "" || rt.Group == "" {
			return fmt.Errorf("approval route %q -> %q: want PATTERN=GROUP or account:PATTERN=GROUP with a valid pattern", rt.Pattern, rt.Group)
		}
		// The dashboard finds routed requests in SQL (LIKE), which knows
		// * and ? but not character classes or escapes: a pattern is bucket
		// (or account) name characters and wildcards only, so both
		// readings agree.
		if strings.IndexFunc(pattern, func(c rune) bool { return !strings.ContainsRune(patternChars, c) }) >= 0 {
			return fmt.Errorf("approval route %q -> %q: a pattern holds lower-case letters, digits, '.', '-' and the wildcards * and ?", rt.Pattern, rt.Group)
		}
		if account && !r.anyAccount(pattern) {
			return fmt.Errorf("approval route %q -> %q: no account matches %q; the accounts are %s", rt.Pattern, rt.Group, pattern, strings.Join(r.accountNames(), ", "))
		}
	}
	return nil
}

// anyAccount reports whether pattern matches the name of an account.
func (r ApprovalRules) anyAccount(pattern string) bool {
	for _, name := range r.accountNames() {
		if ok, _ := path.Match(pattern, name); ok {
			return true
		}
	}
	return false
}

// accountNames lists the accounts' names, the default first;
// provision.DefaultAccountName alone when none are configured.
func (r ApprovalRules) accountNames() []string {
	return provision.Settings{Accounts: r.Accounts}.AccountNames()
}

// Needed is what a request version needs before it is approved.
type Needed struct {
	Approvals int
	// Groups each need an approval from one of their members.
	Groups []string
}

// Need returns the approvals spec needs under the rules.
func (r ApprovalRules) Need(spec provision.RoleSpec) Needed {
	account := r.accountName(spec)
	r = r.forAccount(account).withDefaults()
	n := Needed{Approvals: r.Required}
	buckets := map[string]bool{}
	groups := map[string]bool{}
	for _, s := range spec.Buckets {
		buckets[s.Bucket] = true
		if s.Access != provision.AccessRead {
			n.Approvals = r.Elevated
		}
	}
	for _, rt := range r.Routes {
		if rt.matches(account, specBuckets(spec)...) {
			groups[rt.Group] = true
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

// counts reports whether a decision by someone holding roles counts toward
// the approval count: only approvers' and admins' do.
func counts(roles []Role) bool {
	return slices.Contains(roles, RoleApprover) || slices.Contains(roles, RoleAdmin)
}

// mayDecide: an approver or admin may decide any request; a member of a
// routed group may decide the requests routed to it (their approval
// satisfies the group, not the count).
func (r ApprovalRules) mayDecide(a Actor, req Request) bool {
	return counts(a.Roles) || r.routedTo(a, r.accountName(req.Spec), specBuckets(req.Spec)...)
}

// routedTo reports whether a belongs to a group that account, or one of
// the buckets, is routed to.
func (r ApprovalRules) routedTo(a Actor, account string, buckets ...string) bool {
	for _, rt := range r.Routes {
		if a.InGroup(rt.Group) && rt.matches(account, buckets...) {
			return true
		}
	}
	return false
}

// specBuckets lists the buckets a spec names.
func specBuckets(spec provision.RoleSpec) []string {
	out := make([]string, 0, len(spec.Buckets))
	for _, s := range spec.Buckets {
		out = append(out, s.Bucket)
	}
	return out
}

// GroupProgress says whether a routed group has given its approval.
type GroupProgress struct {
	Group     string
	Satisfied bool
}

// Progress is how far a request version is from approval: the approvals
// the count needs and has (approvers' and admins' only), and each routed
// group with whether one of its members approved.
type Progress struct {
	Required int
	Given    int
	Groups   []GroupProgress
	// ByRule names the rule whose approval met the whole rule
	// (RuleNoNewAccess), empty when people's approvals are counted.
	ByRule string
}

// Progress is the one approval rule. The count (Required) is met only by
// approvals of people who held the approver or admin role when they
// decided, each person once (SamePerson); each routed group additionally
// needs an approval from one of its members. One decision by an approver
// who is also a member satisfies both; a data owner's approval never
// stands in for the count.
func (r ApprovalRules) Progress(spec provision.RoleSpec, decisions []DecisionRecord) Progress {
	need := r.Need(spec)
	p := Progress{Required: need.Approvals}
	var counted []string
	for _, d := range decisions {
		// One person counts once, under their name in any case
		// (SamePerson): decisions stored before Decide refused a second
		// one so could hold two.
		if d.Approve && counts(d.Roles) && !slices.ContainsFunc(counted, func(n string) bool { return SamePerson(n, d.Approver) }) {
			counted = append(counted, d.Approver)
			p.Given++
		}
		// A rule approval is recorded only by RequestChange, after it found
		// the change grants nothing the live version (approved under these
		// rules, its routed groups included) does not. It stands for the
		// count and the groups while the rule is on; switched off, it
		// counts for nothing, like any decision without an approver's role.
		if d.Approve && d.Rule == RuleNoNewAccess && r.AutoApproveNarrowing {
			p.ByRule = d.Rule
		}
	}
	for _, g := range need.Groups {
		gp := GroupProgress{Group: g}
		for _, d := range decisions {
			if d.Approve && slices.Contains(d.Groups, g) {
				gp.Satisfied = true
			}
		}
		p.Groups = append(p.Groups, gp)
	}
	return p
}

// Complete reports whether the approvals meet the rule.
func (p Progress) Complete() bool {
	if p.ByRule != "" {
		return true
	}
	if p.Given < p.Required {
		return false
	}
	for _, g := range p.Groups {
		if !g.Satisfied {
			return false
		}
	}
	return true
}

func (p Progress) satisfiedGroups() []string {
	out := []string{}
	for _, g := range p.Groups {
		if g.Satisfied {
			out = append(out, g.Group)
		}
	}
	return out
}

// Missing lists the routed groups still waiting for an approval.
func (p Progress) Missing() []string {
	var out []string
	for _, g := range p.Groups {
		if !g.Satisfied {
			out = append(out, g.Group)
		}
	}
	return out
}

// String says the progress in words: "1 of 2 approvals; still needs
// finance-owners".
func (p Progress) String() string {
	if p.ByRule != "" {
		return "approved by the " + p.ByRule + " rule"
	}
	s := fmt.Sprintf("%d of %d approval%s", p.Given, p.Required, plural(p.Required))
	if m := p.Missing(); len(m) > 0 {
		s += "; still needs " + strings.Join(m, ", ")
	}
	return s
}

// Requirement says what a version will need before anyone decided: "will
// need 2 approvals and one from finance-owners".
func (p Progress) Requirement() string {
	s := fmt.Sprintf("will need %d approval%s from approvers", p.Required, plural(p.Required))
	if len(p.Groups) > 0 {
		names := make([]string, 0, len(p.Groups))
		for _, g := range p.Groups {
			names = append(names, g.Group)
		}
		s += " and one from each of " + strings.Join(names, ", ")
		if len(names) == 1 {
			s = fmt.Sprintf("will need %d approval%s from approvers and one from %s", p.Required, plural(p.Required), names[0])
		}
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
