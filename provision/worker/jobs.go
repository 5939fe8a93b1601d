package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/worker/webhook"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/jobargs"
)

// jobs are the worker's jobs, one method a kind.
type jobs struct {
	st      Store
	cfg     Config
	log     *slog.Logger
	metrics *metrics
}

// register adds each kind of job the worker runs to workers, and its kind
// to kinds (the metrics' kind labels). A new kind of job is its arguments
// in store/jobargs, its method here (or in a file of its own) and its line
// below.
func (j *jobs) register(workers *river.Workers, kinds *[]string) {
	addWorker(workers, kinds, j.provision)
	addWorker(workers, kinds, j.revoke)
	addWorker(workers, kinds, j.webhook)
	addWorker(workers, kinds, j.expire)
	addWorker(workers, kinds, j.drift)
	addWorker(workers, kinds, j.seal)
	addWorker(workers, kinds, j.review)
}

// addWorker registers work for its job kind and adds the kind to kinds.
func addWorker[T river.JobArgs](workers *river.Workers, kinds *[]string, work func(context.Context, *river.Job[T]) error) {
	river.AddWorker(workers, river.WorkFunc(work))
	var args T
	*kinds = append(*kinds, args.Kind())
}

func (j *jobs) seal(ctx context.Context, _ *river.Job[jobargs.Seal]) error {
	_, err := j.st.SealAudit(ctx)
	return err
}

// giveUp decides what a failed IAM run means: permanent errors, and any
// error of the last attempt, end the request as failed (return true);
// others are retried by River with back-off. The database out of reach
// (the store's check before each write could not ask it) is as passing as
// IAM's throttling, and so is a run cut short by the job's timeout or the
// worker stopping, unless it was the last attempt: River runs that job no
// more, and a request left provisioning or revoking with no job would stay
// so.
func giveUp(ctx context.Context, err error, attempt, maxAttempts int) bool {
	if attempt >= maxAttempts {
		return true
	}
	if ctx.Err() != nil {
		return false // timed out or shutting down: the job is retried
	}
	return !provision.IsRetryable(err) && !errors.Is(err, store.ErrUnavailable) && !errors.Is(err, store.ErrTimeout)
}

// recording is the context to record a job's end in: ctx, or, when the
// job's own context has ended (its timeout, the worker stopping), one
// that has not, bounded to 30 seconds.
func recording(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// sessionName names the role session a request's IAM calls are made in,
// so a spoke's CloudTrail says which request each call served.
func sessionName(id int64) string { return fmt.Sprintf("rolegate-request-%d", id) }

func reason(err error, attempt int, permanent bool) string {
	var perm *provision.PermanentError
	if permanent && errors.As(err, &perm) {
		return perm.Error() // not the SDK's wrapping around it
	}
	if permanent {
		return err.Error()
	}
	return fmt.Sprintf("gave up after %d attempts: %v", attempt, err)
}

// provision brings IAM to the plan of an approved version. It waits for a
// drift repair of the request that is running (store.DB.Repair). A revocation
// (or expiry) may begin while it runs; the revocation must win. Three
// things make sure it does: the job asks the store before each IAM write
// whether the request is still provisioning this version and stops when
// it is not (ApplyOptions.Check); completing is guarded in SQL the same way, so
// a revoked request never becomes active again; and the revocation job
// does not touch IAM while this job is running (BeginRevocation waits for
// it), so whatever this job created before it stopped is removed after.
func (j *jobs) provision(ctx context.Context, job *river.Job[jobargs.Provision]) error {
	id, version := job.Args.RequestID, job.Args.Version
	log := j.log.With("request_id", id, "version", version, "attempt", job.Attempt)
	stale := func(err error) error {
		log.Info("request moved on while provisioning; stopping", "reason", err)
		return nil
	}
	w, err := j.st.BeginProvisioning(ctx, id, version)
	if errors.Is(err, store.ErrRepairRunning) {
		// The approval that queued this job took the request out of the
		// live states, so a drift repair that has not begun will not
		// write; one that has must stop first, or it could undo what
		// this job writes.
		log.Info("waiting for the drift repair to stop before provisioning")
		return river.JobSnooze(j.cfg.RetryBase)
	}
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		log.Info("provisioning job is stale; nothing to do", "reason", err)
		return nil
	}
	if err != nil {
		return err
	}
	plan, err := store.PlanOf(w, j.cfg.Settings)
	if err != nil {
		log.Warn("request no longer passes validation", "err", err)
		return j.fail(ctx, id, version, "the request no longer passes the guardrails: "+err.Error(), stale)
	}
	rec, err := j.cfg.Reconcilers.For(plan.Account.Name, sessionName(id))
	if err != nil {
		return j.fail(ctx, id, version, err.Error(), stale)
	}
	// Before its first version went live the role is not expected to
	// exist: create without reading first (a retry after a crash or a
	// name someone else holds is found by IAM's EntityAlreadyExists).
	report, err := rec.ApplyWith(ctx, plan, provision.ApplyOptions{
		Check: func(ctx context.Context) error { return j.st.StillProvisioning(ctx, id, version) },
		Fresh: w.Request.LiveVersion == 0,
	})
	if errors.Is(err, store.ErrConflict) {
		return stale(err)
	}
	if err != nil {
		if giveUp(ctx, err, job.Attempt, job.MaxAttempts) {
			log.Warn("provisioning failed", "err", err)
			rctx, cancel := recording(ctx)
			defer cancel()
			return j.fail(rctx, id, version, reason(err, job.Attempt, !provision.IsRetryable(err)), stale)
		}
		log.Info("provisioning will be retried", "err", err)
		return err
	}
	tf, err := provision.Terraform(plan)
	if err != nil {
		return j.fail(ctx, id, version, "render Terraform: "+err.Error(), stale)
	}
	roleARN, profileARN := arns(report, plan)
	err = j.st.CompleteProvisioning(ctx, id, version, store.ProvisionResult{
		RoleARN: roleARN, InstanceProfileARN: profileARN, Terraform: tf,
		Steps: steps(report), Waited: report.RoleWait + report.ProfileWait,
	})
	if errors.Is(err, store.ErrConflict) {
		return stale(err)
	}
	if err == nil {
		log.Info("provisioned", "role", plan.Role.Name, "iam_writes", len(report.Calls))
	}
	return err
}

// fail records a failed provisioning; a request that moved on meanwhile
// (revoked) is not failed, the job just stops.
func (j *jobs) fail(ctx context.Context, id int64, version int, why string, stale func(error) error) error {
	err := j.st.FailProvisioning(ctx, id, version, why)
	if errors.Is(err, store.ErrConflict) {
		return stale(err)
	}
	if err == nil {
		gaveUp(ctx)
	}
	return err
}

// failRevocation records a failed revocation.
func (j *jobs) failRevocation(ctx context.Context, id int64, why string) error {
	err := j.st.FailRevocation(ctx, id, why)
	if err == nil {
		gaveUp(ctx)
	}
	return err
}

func (j *jobs) revoke(ctx context.Context, job *river.Job[jobargs.Revoke]) error {
	id := job.Args.RequestID
	log := j.log.With("request_id", id, "attempt", job.Attempt)
	w, err := j.st.BeginRevocation(ctx, id)
	if errors.Is(err, store.ErrProvisioningRunning) || errors.Is(err, store.ErrRepairRunning) {
		// Snoozing does not use up an attempt: the wait is as long as the
		// provisioning job or the drift repair runs, which JobTimeout and
		// the repair's own bounds limit.
		log.Info("waiting for the provisioning job or drift repair to stop before revoking", "reason", err)
		return river.JobSnooze(j.cfg.RetryBase)
	}
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		log.Info("revocation job is stale; nothing to do", "reason", err)
		return nil
	}
	if err != nil {
		return err
	}
	plan, err := destroyPlan(w, j.cfg.Settings)
	if err != nil {
		return j.failRevocation(ctx, id, "cannot rebuild the plan to remove: "+err.Error())
	}
	// A role that went live is rolegate's: a role of its name without the
	// request's tags may be it with its tags taken off, a surprise worth
	// failing on. An instance profile of its name without them is someone
	// else's that replaced the role's own: it is left alone, so that it
	// cannot keep the role in IAM. A request that never went live may have
	// stopped on a foreign entity of the same name: remove what is
	// provably ours, leave the rest.
	rec, err := j.cfg.Reconcilers.For(plan.Account.Name, sessionName(id))
	if err != nil {
		return j.failRevocation(ctx, id, err.Error())
	}
	destroy := rec.Revoke
	if w.Request.LiveVersion == 0 {
		destroy = rec.Sweep
	}
	report, err := destroy(ctx, plan)
	if err != nil {
		if giveUp(ctx, err, job.Attempt, job.MaxAttempts) {
			rctx, cancel := recording(ctx)
			defer cancel()
			return j.failRevocation(rctx, id, reason(err, job.Attempt, !provision.IsRetryable(err)))
		}
		return err
	}
	_, err = j.st.CompleteRevocation(ctx, id, steps(report))
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	if err == nil {
		log.Info("revoked", "role", plan.Role.Name)
	}
	return err
}

func (j *jobs) expire(ctx context.Context, _ *river.Job[jobargs.Expire]) error {
	n, err := j.st.ExpireDue(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		j.log.Info("expired roles queued for removal", "count", n)
	}
	if j.cfg.RemindBefore > 0 {
		if _, err := j.st.RemindExpiring(ctx, j.cfg.RemindBefore); err != nil {
			return err
		}
	}
	// Housekeeping rides along. A request whose job River discarded (a
	// worker that died, or lost the database, in its last attempt) is
	// failed, so that an admin can retry it: nothing else would move it.
	if n, err := j.st.FailOrphaned(ctx); err != nil {
		return err
	} else if n > 0 {
		j.log.Warn("requests whose job ended without finishing were failed; an admin can retry them", "count", n)
	}
	// The API's idempotency keys are kept for the promised 24 hours, then
	// removed.
	if _, err := j.st.DeleteExpiredIdempotencyKeys(ctx, store.IdempotencyTTL); err != nil {
		return err
	}
	return nil
}

func (j *jobs) drift(ctx context.Context, _ *river.Job[jobargs.Drift]) error {
	found, err := CheckDrift(ctx, j.st, j.cfg.Reconcilers, j.cfg.Settings, j.cfg.RepairDrift)
	j.metrics.driftChecked(j.cfg.Settings.AccountNames(), found, err)
	return err
}

func (j *jobs) webhook(ctx context.Context, job *river.Job[jobargs.Webhook]) error {
	return webhook.Deliver(ctx, j.cfg.HTTPClient, j.cfg.WebhookSecret, j.cfg.WebhookURLs, job.Args)
}
