package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// DriftResult is one active role whose IAM state differs from its plan.
type DriftResult struct {
	RequestID int64
	RoleName  string
	Changes   []string
	Repaired  bool
}

// CheckDrift compares every active role with its plan, records the result
// per request, and with repair brings IAM back to the plan. It returns the
// roles that drifted.
//
// It reads IAM in bulk first (Reconciler.ReadSnapshot: a couple of calls a
// thousand roles, and nothing at all when no role is active) and compares
// each role with its plan from there (Reconciler.DryRunFrom: the
// reconciler's own comparisons, policies compared semantically). A role is
// read on its own only when the bulk read cannot answer for it (created
// since, or its instance profile lost it), to confirm a drift found in bulk
// before it is recorded (so a role changed since the bulk read is never
// reported from stale data), and to repair it. Only roles of active
// requests are compared, so a role rolegate did not create is never touched.
func CheckDrift(ctx context.Context, st Store, rec *provision.Reconciler, set provision.Settings, repair bool) ([]DriftResult, error) {
	var snap *provision.Snapshot
	return checkDrift(ctx, st, rec, set, repair, func(ctx context.Context, plan provision.Plan) (provision.Report, error) {
		if snap == nil {
			var err error
			if snap, err = rec.ReadSnapshot(ctx); err != nil {
				var perm *provision.PermanentError
				if errors.As(err, &perm) && perm.Code == "AccessDenied" {
					return provision.Report{}, fmt.Errorf("read IAM in bulk: %w (rolegate's IAM principal needs iam:GetAccountAuthorizationDetails and iam:ListRoles on \"*\": see rolegate service-policy)", err)
				}
				return provision.Report{}, fmt.Errorf("read IAM in bulk: %w", err)
			}
		}
		report, err := rec.DryRunFrom(ctx, snap, plan)
		if err != nil || len(changes(report)) == 0 {
			return report, err
		}
		return rec.DryRun(ctx, plan)
	})
}

// CheckDriftPerRole is CheckDrift reading each role on its own (a dry run
// of the reconciler, about six reads a role), as rolegate did before bulk
// reads; `rolegate bench` measures CheckDrift against it.
func CheckDriftPerRole(ctx context.Context, st Store, rec *provision.Reconciler, set provision.Settings, repair bool) ([]DriftResult, error) {
	return checkDrift(ctx, st, rec, set, repair, rec.DryRun)
}

// checkDrift walks the active roles a page at a time, compares each with
// its plan through compare, repairs and records.
func checkDrift(ctx context.Context, st Store, rec *provision.Reconciler, set provision.Settings, repair bool,
	compare func(context.Context, provision.Plan) (provision.Report, error)) ([]DriftResult, error) {
	var out []DriftResult
	var after int64
	for {
		page, err := st.LiveWork(ctx, after, 100)
		if err != nil {
			return out, err
		}
		if len(page) == 0 {
			return out, nil
		}
		for _, w := range page {
			after = w.Request.ID
			plan, err := store.PlanOf(w, set)
			if err != nil {
				plan, err = destroyPlan(w, set)
				if err != nil {
					return out, fmt.Errorf("request %d: %w", w.Request.ID, err)
				}
			}
			report, err := compare(ctx, plan)
			if err != nil {
				return out, fmt.Errorf("request %d: %w", w.Request.ID, err)
			}
			diff := changes(report)
			repaired := false
			if len(diff) > 0 && repair {
				if _, err := rec.Apply(ctx, plan); err != nil {
					return out, fmt.Errorf("repair request %d: %w", w.Request.ID, err)
				}
				repaired = true
			}
			// A clean role that was clean before has nothing to record:
			// at thousands of roles, skipping that transaction is most
			// of the check's own time.
			if len(diff) == 0 && !w.Request.Drifted {
				continue
			}
			if err := st.RecordDrift(ctx, w.Request.ID, w.Version, diff, repaired); err != nil {
				return out, err
			}
			if len(diff) > 0 {
				out = append(out, DriftResult{RequestID: w.Request.ID, RoleName: plan.Role.Name, Changes: diff, Repaired: repaired})
			}
		}
	}
}
