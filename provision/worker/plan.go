package worker

import (
	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// destroyPlan is the plan whose resources a revocation removes, under
// the settings' relaxed guardrails (provision.Settings.ForRemoval): a role
// approved under older settings must still be removable under new ones.
func destroyPlan(w store.Work, set provision.Settings) (provision.Plan, error) {
	return store.PlanOf(w, set.ForRemoval(w.Spec))
}

// steps turns a reconciler report into the store's audit steps.
func steps(r provision.Report) []store.Step {
	out := make([]store.Step, 0, len(r.Resources))
	for _, res := range r.Resources {
		out = append(out, store.Step{Resource: string(res.Kind), Name: res.Name, ARN: res.ARN,
			Outcome: string(res.Outcome), Changes: res.Changes})
	}
	return out
}

// changes lists what a dry run found different from the plan, one line per
// resource.
func changes(r provision.Report) []string {
	var out []string
	for _, res := range r.Resources {
		if res.Outcome == provision.OutcomeUnchanged || res.Outcome == provision.OutcomeAbsent {
			continue
		}
		line := string(res.Kind) + " " + res.Name + ": " + string(res.Outcome)
		for _, c := range res.Changes {
			line += "; " + c
		}
		out = append(out, line)
	}
	return out
}

// arns returns the role and instance profile ARNs IAM reported, falling
// back to the plan's prediction.
func arns(r provision.Report, p provision.Plan) (role, profile string) {
	role, profile = p.RoleARN(), p.InstanceProfileARN()
	for _, res := range r.Resources {
		switch {
		case res.Kind == provision.KindRole && res.ARN != "":
			role = res.ARN
		case res.Kind == provision.KindInstanceProfile && res.ARN != "":
			profile = res.ARN
		}
	}
	return role, profile
}
