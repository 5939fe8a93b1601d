package store

import (
	"strconv"

	"github.com/rolegate/rolegate/provision"
)

// LiveVersion returns the version of r that is live in IAM: the one last
// provisioned (r.LiveVersion), whatever changes are pending, failed or
// rejected after it. This is the version the API calls "current" and
// export-terraform writes; for a revoked or expired request it is the
// version that was live until the end. It returns false when no version
// of r ever went live.
func LiveVersion(r Request, versions []Version) (Version, bool) {
	if r.LiveVersion == 0 {
		return Version{}, false
	}
	for _, v := range versions {
		if v.Number == r.LiveVersion {
			return v, true
		}
	}
	return Version{}, false
}

// WorkOf is what the plan of version v of r is built from: its spec, who
// approved it (in the order they did) and when it was approved (zero while
// it is not).
func WorkOf(r Request, v Version) Work {
	w := Work{Request: r, Version: v.Number, Spec: v.Spec, TTL: v.TTL}
	if v.ApprovedAt != nil {
		w.ApprovedAt = *v.ApprovedAt
	}
	for _, d := range v.Decisions {
		if d.Approve {
			w.Approvers = append(w.Approvers, d.Approver)
		}
	}
	return w
}

// PlanOf builds the plan of a stored request version: the one value the
// IAM calls, the stored Terraform, the request page and the API all render
// from, so a version's Terraform reads the same before and after it is
// approved except for the header's approval lines. Approvers and the
// approval time enter the plan only once the version is approved (before,
// the header says it is not). The expiry is not part of the plan: it
// counts from activation and rolegate's expiry job enforces it. A role
// that went live, or was approved, is planned under the name and path it
// has (or was approved with) in IAM (Request.KeptRoleARN,
// provision.Settings.Keeping), whatever the name prefix and role path are
// now. It returns the validator's *provision.ValidationError when the
// spec no longer passes the guardrails of set.
func PlanOf(w Work, set provision.Settings) (provision.Plan, error) {
	spec := w.Spec
	spec.ExpiresAt = nil
	set = set.Keeping(spec.Account, spec.Name, w.Request.KeptRoleARN())
	meta := provision.PlanMeta{RequestID: strconv.FormatInt(w.Request.ID, 10), Requester: w.Request.Requester}
	if !w.ApprovedAt.IsZero() {
		meta.Approvers = w.Approvers
		meta.Time = w.ApprovedAt
	}
	return provision.NewPlan(spec, set, meta)
}
