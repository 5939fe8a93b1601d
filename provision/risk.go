package provision

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Risk is one reason for an approver to look twice, with a stable code.
type Risk struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// The risk codes, as the API and the dashboard filter name them.
const (
	RiskWholeBucketWrite = "whole-bucket-write"
	RiskDelete           = "delete"
	RiskManyBuckets      = "many-buckets"
	RiskNoExpiry         = "no-expiry"
	RiskLongExpiry       = "long-expiry"
	RiskManagedPolicies  = "managed-policies"
	RiskSharedBucket     = "shared-bucket"
	RiskWidens           = "widens"
)

// RiskCodes lists every risk code in the order badges show them.
func RiskCodes() []string {
	return []string{RiskWholeBucketWrite, RiskDelete, RiskManyBuckets, RiskNoExpiry, RiskLongExpiry,
		RiskManagedPolicies, RiskSharedBucket, RiskWidens}
}

// RiskThresholds tune the flags; zero fields take DefaultRiskThresholds'.
type RiskThresholds struct {
	// MaxBuckets: more distinct buckets than this is flagged.
	MaxBuckets int
	// MaxExpiryDays: an expiry further away than this many days is flagged.
	MaxExpiryDays int
	// SharedBucketRoles: a bucket also granted by at least this many other
	// live roles is flagged.
	SharedBucketRoles int
}

// DefaultRiskThresholds are 3 buckets, 90 days and 3 other roles.
func DefaultRiskThresholds() RiskThresholds {
	return RiskThresholds{MaxBuckets: 3, MaxExpiryDays: 90, SharedBucketRoles: 3}
}

// WithDefaults fills the zero fields from DefaultRiskThresholds.
func (t RiskThresholds) WithDefaults() RiskThresholds {
	d := DefaultRiskThresholds()
	if t.MaxBuckets <= 0 {
		t.MaxBuckets = d.MaxBuckets
	}
	if t.MaxExpiryDays <= 0 {
		t.MaxExpiryDays = d.MaxExpiryDays
	}
	if t.SharedBucketRoles <= 0 {
		t.SharedBucketRoles = d.SharedBucketRoles
	}
	return t
}

// RiskContext is what the flags need beyond the plan.
type RiskContext struct {
	// Now is the time expiries are measured from.
	Now time.Time
	// Live is the plan live in IAM when p is a change; nil for a new role.
	Live *Plan
	// OtherRoles counts, per bucket, the other live roles granting it.
	OtherRoles map[string]int
}

// AssessRisks flags what an approver should look at in p, each with its
// reason, in the order of RiskCodes. The expiry is p.ExpiresAt.
func AssessRisks(p Plan, t RiskThresholds, c RiskContext) []Risk {
	t = t.WithDefaults()
	var out []Risk
	add := func(code, format string, args ...any) {
		out = append(out, Risk{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	var whole, deletes []string
	buckets := map[string]bool{}
	for _, s := range p.Scopes {
		buckets[s.Bucket] = true
		if s.Prefix == "" && s.Access.has(grantPut) {
			whole = append(whole, Quoted(s.Bucket))
		}
		if s.Access.has(grantDelete) {
			deletes = append(deletes, Quoted(s.Bucket+"/"+s.Prefix))
		}
	}
	if len(whole) > 0 {
		add(RiskWholeBucketWrite, "writes anywhere in %s (no prefix)", strings.Join(whole, ", "))
	}
	if len(deletes) > 0 {
		add(RiskDelete, "may delete objects under %s", strings.Join(deletes, ", "))
	}
	if len(buckets) > t.MaxBuckets {
		add(RiskManyBuckets, "reaches %d buckets (more than %d)", len(buckets), t.MaxBuckets)
	}
	switch limit := c.Now.AddDate(0, 0, t.MaxExpiryDays); {
	case p.ExpiresAt == nil:
		add(RiskNoExpiry, "never expires")
	case p.ExpiresAt.After(limit):
		add(RiskLongExpiry, "expires in %d days (more than %d)", int(p.ExpiresAt.Sub(c.Now).Hours()/24), t.MaxExpiryDays)
	}
	if len(p.ManagedPolicies) > 0 {
		names := make([]string, 0, len(p.ManagedPolicies))
		for _, m := range p.ManagedPolicies {
			names = append(names, ManagedPolicyName(m))
		}
		add(RiskManagedPolicies, "attaches the managed %s %s", pluralWord(len(names), "policy", "policies"), strings.Join(names, ", "))
	}
	var shared []string
	for b := range buckets {
		if n := c.OtherRoles[b]; n >= t.SharedBucketRoles {
			shared = append(shared, fmt.Sprintf("%s (%d other roles)", Quoted(b), n))
		}
	}
	if len(shared) > 0 {
		sort.Strings(shared)
		add(RiskSharedBucket, "already reached by many live roles: %s", strings.Join(shared, ", "))
	}
	if c.Live != nil {
		if n := NoNewAccess(*c.Live, p); !n.NoNewAccess {
			add(RiskWidens, "widens the live role: %s", strings.Join(n.Reasons, "; "))
		}
	}
	return out
}
