package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// DriftResult is one live role whose IAM state differs from its plan.
type DriftResult struct {
	RequestID int64
	RoleName  string
	Account   string
	Changes   []string
	Repaired  bool
}

// CheckDrift compares every live role with the plan of its live version,
// records the result per request, and with repair brings IAM back to that
// plan. It returns the roles that drifted. A live role is one that is
// active, or has a change pending or failed (Store.LiveWork): a change
// that failed part-way is drift from the live version, and repair undoes
// it rather than finishing it.
//
// It reads IAM in bulk first (Reconciler.ReadSnapshot: a couple of calls a
// thousand roles, and nothing at all when no role is live) and compares
// each role with its plan from there (Reconciler.DryRunFrom: the
// reconciler's own comparisons, policies compared semantically). A role is
// read on its own only when the bulk read cannot answer for it (created
// since, or no longer rolegate's: Snapshot.Holds; that read is fresh, so
// it is made once and confirms itself), to read an instance profile that
// no longer holds its role, to confirm a drift found in bulk before it is
// recorded (so a role changed since the bulk read is never reported from
// stale data), and to repair it. Only the roles of those
// requests are compared, so a role rolegate did not create is never touched;
// one that has taken a live role's name (or its instance profile's) is that
// role's drift, recorded and never repaired.
//
// Each account is read in bulk once, through its own reconciler. The
// plans carry st's installation ID and adoption bound (set need name
// neither), so another installation's role of the same request ID and
// name, tagged or made before installation IDs for a request of st made
// after, is such a role of someone else's. It returns an error at once when st has no installation
// ID or set names another.
func CheckDrift(ctx context.Context, st Store, recs *provision.Reconcilers, set provision.Settings, repair bool) ([]DriftResult, error) {
	snaps := map[string]*provision.Snapshot{}
	return checkDrift(ctx, st, recs, set, repair, func(ctx context.Context, rec *provision.Reconciler, plan provision.Plan) (provision.Report, error) {
		snap := snaps[plan.Account.Name]
		if snap == nil {
			var err error
			if snap, err = rec.ReadSnapshot(ctx); err != nil {
				var perm *provision.PermanentError
				if errors.As(err, &perm) && perm.Code == "AccessDenied" && perm.Op != "AssumeRole" {
					return provision.Report{}, fmt.Errorf("read IAM in bulk: %w (rolegate's IAM principal needs iam:GetAccountAuthorizationDetails and iam:ListRoles on \"*\": see rolegate service-policy)", err)
				}
				return provision.Report{}, fmt.Errorf("read IAM of account %s in bulk: %w", plan.Account.Name, err)
			}
			snaps[plan.Account.Name] = snap
		}
		if !snap.Holds(plan) {
			// Read on its own, once: that read is fresh, so there is
			// nothing to confirm.
			return rec.DryRun(ctx, plan)
		}
		// A drift found in bulk, someone else's entity included, is
		// confirmed by a read of its own before it is recorded.
		report, err := rec.DryRunFrom(ctx, snap, plan)
		if _, foreign := notOurs(err); err != nil && !foreign || err == nil && len(changes(report)) == 0 {
			return report, unreadable(err)
		}
		report, err = rec.DryRun(ctx, plan)
		return report, unreadable(err)
	})
}

// roleUnreadable is a read of one role that IAM refused for good after
// the account's bulk read succeeded: rolegate may read the account, so
// the refusal is this role's (the service policy printed for another
// --role-path, an SCP or a boundary on its path), and the account's other
// roles are still checked.
type roleUnreadable struct{ err error }

func (e *roleUnreadable) Error() string { return e.err.Error() }
func (e *roleUnreadable) Unwrap() error { return e.err }

// unreadable marks err, a read of one role after a successful bulk read,
// as that role's when IAM refused it for good (refusedForRole's rule);
// someone else's entity under the role's names stays notOurs's finding.
func unreadable(err error) error {
	if _, foreign := notOurs(err); foreign {
		return err
	}
	if _, ok := refusedForRole(err); ok {
		return &roleUnreadable{err}
	}
	return err
}

// CheckDriftPerRole is CheckDrift reading each role on its own (a dry run
// of the reconciler, about six reads a role), as rolegate did before bulk
// reads; `rolegate bench` measures CheckDrift against it.
func CheckDriftPerRole(ctx context.Context, st Store, recs *provision.Reconcilers, set provision.Settings, repair bool) ([]DriftResult, error) {
	return checkDrift(ctx, st, recs, set, repair, func(ctx context.Context, rec *provision.Reconciler, p provision.Plan) (provision.Report, error) {
		return rec.DryRun(ctx, p)
	})
}

// driftSession names the role session of the drift check's IAM calls.
const driftSession = "rolegate-drift"

// checkDrift walks the live roles a page at a time, compares each with
// its plan through compare, repairs and records. An account that cannot
// be read (its provisioner role refuses rolegate, say) or written (its
// credentials do not work there) is skipped after its first failure, and
// the others are still checked; its error is returned at the end. A repair
// IAM refuses for one role only, denials included, is that role's drift
// (refusedForRole), and so is a read of one role IAM refuses after the
// account's bulk read succeeded (roleUnreadable).
func checkDrift(ctx context.Context, st Store, recs *provision.Reconcilers, set provision.Settings, repair bool,
	compare compareFunc) ([]DriftResult, error) {
	set, err := ownSettings(st, set)
	if err != nil {
		return nil, err
	}
	var out []DriftResult
	failed := map[string]error{}
	var after int64
	for {
		page, err := st.LiveWork(ctx, after, 100)
		if err != nil {
			return out, err
		}
		if len(page) == 0 {
			return out, accountErrors(failed)
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
			if failed[plan.Account.Name] != nil {
				continue
			}
			res, drifted, err := checkRole(ctx, st, recs, w, plan, repair, compare)
			var acctErr *accountError
			if errors.As(err, &acctErr) {
				failed[plan.Account.Name] = err
				continue
			}
			if err != nil {
				return out, err
			}
			if drifted {
				out = append(out, res)
			}
		}
	}
}

type compareFunc func(context.Context, *provision.Reconciler, provision.Plan) (provision.Report, error)

// accountError is a failure to read or repair IAM in the account named
// account.
type accountError struct {
	account string
	err     error
}

func (e *accountError) Error() string { return e.err.Error() }
func (e *accountError) Unwrap() error { return e.err }

func accountErrors(failed map[string]error) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(failed)) {
		errs = append(errs, failed[name])
	}
	return errors.Join(errs...)
}

// checkRole compares one role with its plan, repairs it when asked and
// records the result. It returns the drift found and whether there was
// any, or an *accountError when IAM could not be read or written, or the
// store's error.
func checkRole(ctx context.Context, st Store, recs *provision.Reconcilers, w store.Work, plan provision.Plan, repair bool,
	compare compareFunc) (DriftResult, bool, error) {
	id := w.Request.ID
	rec, err := recs.For(plan.Account.Name, driftSession)
	if err != nil {
		return DriftResult{}, false, &accountError{plan.Account.Name, fmt.Errorf("request %d: %w", id, err)}
	}
	report, err := compare(ctx, rec, plan)
	diff := changes(report)
	theirs, foreign := notOurs(err)
	var denied *roleUnreadable
	switch {
	case foreign:
		diff = []string{theirs}
	case errors.As(err, &denied):
		diff = []string{"cannot be read: " + denied.err.Error()}
	case err != nil:
		return DriftResult{}, false, &accountError{plan.Account.Name, fmt.Errorf("request %d: %w", id, err)}
	}
	repaired := false
	if len(diff) > 0 && repair && !foreign && denied == nil {
		// Under the request's repair lock, and only while it is live at
		// this version: a revocation or a change's provisioning that
		// begins meanwhile waits for the repair, which stops before its
		// next write, so it never puts back what they remove or undoes
		// what they write.
		err := st.Repair(ctx, id, w.Version, func(ctx context.Context, check func(context.Context) error) error {
			_, err := rec.ApplyChecked(ctx, plan, check)
			return err
		})
		theirs, foreign := notOurs(err)
		refused, byIAM := refusedForRole(err)
		switch {
		case errors.Is(err, store.ErrConflict):
			return DriftResult{}, false, nil // no longer live: nothing to repair or record
		case foreign:
			diff = append(diff, theirs) // found by the repair's own reads
		case byIAM:
			diff = append(diff, refused)
		case err != nil:
			return DriftResult{}, false, &accountError{plan.Account.Name, fmt.Errorf("repair request %d: %w", id, err)}
		default:
			repaired = true
		}
	}
	// A clean role that was clean before has nothing to record: at
	// thousands of roles, skipping that transaction is most of the
	// check's own time.
	if len(diff) == 0 && !w.Request.Drifted {
		return DriftResult{}, false, nil
	}
	if err := st.RecordDrift(ctx, id, w.Version, diff, repaired); err != nil {
		return DriftResult{}, false, err
	}
	return DriftResult{RequestID: id, RoleName: plan.Role.Name, Account: plan.Account.Name, Changes: diff, Repaired: repaired}, len(diff) > 0, nil
}

// notOurs tells the drift of a role that rolegate may not repair from a
// failure to read the account: the reconciler found a role or instance
// profile of the plan's names that is someone else's (it does not carry
// the request's tags, or carries another installation's) or sits under
// another path. That is the role's
// drift, recorded as IAM's state and never repaired (rolegate changes
// nothing it does not own); the account's other roles are still checked.
// It returns the line to record, and whether err is such a finding.
func notOurs(err error) (string, bool) {
	var perm *provision.PermanentError
	if errors.As(err, &perm) && (perm.Code == provision.CodeForeignEntity || perm.Code == provision.CodePathMismatch) {
		return perm.Message, true
	}
	return "", false
}

// refusedForRole tells a repair IAM refuses for this role (a managed
// policy of the plan deleted from the account, a quota of the role, or a
// write IAM denies rolegate: its service policy, an SCP or a boundary may
// deny a call on one role only, such as removing a rolegate: tag added to
// it by hand) from a failure to act in the account: a spoke that refuses
// rolegate (AssumeRole), or credentials that do not work there
// (provision.IsCredentialFailure), which would fail every other role's
// repair too. The role's drift is then recorded, not repaired, with IAM's
// reason, and the account's other roles are still repaired. It returns the
// line to record, and whether err is such a refusal.
func refusedForRole(err error) (string, bool) {
	var perm *provision.PermanentError
	if !errors.As(err, &perm) || perm.Op == "AssumeRole" || provision.IsCredentialFailure(perm.Code) {
		return "", false
	}
	return "repair refused: " + perm.Error(), true
}
