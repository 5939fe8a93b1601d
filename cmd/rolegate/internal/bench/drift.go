package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
)

// benchDrift provisions DriftRoles roles through the worker with no IAM
// latency, changes three of them behind rolegate's back, then at the
// bench's IAM latency runs the drift check that reads IAM in bulk over all
// of them, and the per-role drift check over the first DriftSample, scaled
// to all (it reads each role the same way, one after the other, so it
// grows linearly; reading 10,000 roles so at 50 ms a call takes most of an
// hour). Both checks record their results in the store as the worker's
// periodic check does.
func benchDrift(ctx context.Context, e *env) ([]tableRow, error) {
	n, sample := e.settings.DriftRoles, min(e.settings.DriftSample, e.settings.DriftRoles)
	set := provision.DefaultSettings()
	db, _, err := e.newStore(ctx, "drift", store.Options{MaxConns: 40, Settings: &set})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ib, err := startBenchIAM(iamlocal.Options{RoleQuota: n + 100, InstanceProfileQuota: n + 100})
	if err != nil {
		return nil, err
	}
	defer ib.close()
	rec := provision.NewReconciler(ib.client, provision.ReconcilerOptions{})
	if err := seedActive(ctx, e, db, rec, set, n); err != nil {
		return nil, err
	}
	planted, err := plantDrift(ctx, ib.client, set, n)
	if err != nil {
		return nil, fmt.Errorf("plant drift: %w", err)
	}
	ib.counter.latency.Store(int64(e.settings.Latency))

	debug.FreeOSMemory()
	prior, peakErr := resetPeakRSS()
	e.peakKB = max(e.peakKB, prior)
	calls0 := ib.counter.calls.Load()
	start := time.Now()
	found, err := worker.CheckDrift(ctx, db, provision.SingleAccount(rec), set, false)
	bulkWall, bulkCalls := time.Since(start), ib.counter.calls.Load()-calls0
	if err != nil {
		return nil, fmt.Errorf("bulk drift check: %w", err)
	}
	peakKB, err := procStatusKB("VmHWM")
	peakErr = errors.Join(peakErr, err)
	if got := driftedNames(found); !slices.Equal(got, planted) {
		return nil, fmt.Errorf("bulk drift check found drift in %v, want exactly %v", got, planted)
	}
	e.logf("drift: bulk check of %d roles: %d IAM calls, %s", n, bulkCalls, bulkWall.Round(time.Millisecond))

	calls0 = ib.counter.calls.Load()
	start = time.Now()
	if _, err := worker.CheckDriftPerRole(ctx, &firstRoles{DB: db, left: sample}, provision.SingleAccount(rec), set, false); err != nil {
		return nil, fmt.Errorf("per-role drift check: %w", err)
	}
	sampleWall, sampleCalls := time.Since(start), ib.counter.calls.Load()-calls0
	scale := float64(n) / float64(sample)
	perWall, perCalls := time.Duration(float64(sampleWall)*scale), float64(sampleCalls)*scale
	e.logf("drift: per-role check of %d roles: %d IAM calls, %s", sample, sampleCalls, sampleWall.Round(time.Millisecond))

	scaled := ""
	if sample < n {
		scaled = fmt.Sprintf(", measured on %d roles × %.0f", sample, scale)
	}
	rows := []tableRow{{
		section:  "drift",
		name:     fmt.Sprintf("IAM calls of a drift check over %d roles (%d drifted, found)", n, len(planted)),
		measured: fmt.Sprintf("%d calls in bulk", bulkCalls),
		baseline: fmt.Sprintf("%.0f calls per role%s", perCalls, scaled),
		ratio:    float64(bulkCalls) / perCalls,
		target:   "≤ 0.01× per role",
		ok:       float64(bulkCalls) <= perCalls/100,
	}, {
		section:  "drift",
		name:     fmt.Sprintf("wall time of a drift check over %d roles at %s a call", n, e.settings.Latency),
		measured: bulkWall.Round(10*time.Millisecond).String() + " in bulk",
		baseline: perWall.Round(time.Second).String() + " per role" + scaled,
		ratio:    bulkWall.Seconds() / perWall.Seconds(),
		target:   "≤ 0.05× per role",
		ok:       bulkWall.Seconds() <= perWall.Seconds()/20,
	}}
	mem := tableRow{section: "memory", name: "peak RSS of the bench process, bulk drift check (store, IAM endpoint holding the roles)", target: "≤ 150 MiB"}
	if peakErr != nil {
		mem.measured, mem.note = "n/a", peakErr.Error()
	} else {
		mem.measured = fmt.Sprintf("%.1f MiB", float64(peakKB)/1024)
		mem.ok = float64(peakKB)/1024 <= 150
	}
	return append(rows, mem), nil
}

// seedActive stores n approved requests and lets the worker provision
// them at concurrency 32, waiting until all are active.
func seedActive(ctx context.Context, e *env, db *store.DB, rec *provision.Reconciler, set provision.Settings, n int) error {
	start := time.Now()
	if err := createApprovedBench(ctx, db, n); err != nil {
		return err
	}
	w, err := worker.New(db.Pool(), db, worker.Config{Settings: set, Reconciler: rec, Logger: e.logger(), Concurrency: 32})
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	// Bounded generously: seeding is not measured, and a shared machine
	// provisions 10,000 roles in 5 to 15 minutes.
	waitCtx, cancel := context.WithTimeout(ctx, time.Duration(n)*200*time.Millisecond+5*time.Minute)
	err = awaitActive(waitCtx, db, n)
	cancel()
	stopCtx, stopCancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	err = errors.Join(err, w.Stop(stopCtx))
	stopCancel()
	if err != nil {
		return fmt.Errorf("seed %d active roles: %w", n, err)
	}
	e.logf("drift: %d active roles provisioned in %s", n, time.Since(start).Round(time.Second))
	return nil
}

// plantDrift changes three roles spread over the n as someone with IAM
// rights might: a description, an extra inline policy, a tag on the
// instance profile. It returns their names, sorted.
func plantDrift(ctx context.Context, c *iam.Client, set provision.Settings, n int) ([]string, error) {
	name := func(i int) string { return set.NamePrefix + fmt.Sprintf("bench-%06d", i) }
	a, b, p := name(n/4), name(n/2), name(3*n/4)
	if _, err := c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String(a), Description: aws.String("changed by hand")}); err != nil {
		return nil, err
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(b), PolicyName: aws.String("by-hand"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}); err != nil {
		return nil, err
	}
	if _, err := c.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: aws.String(p),
		Tags: []types.Tag{{Key: aws.String("by-hand"), Value: aws.String("yes")}}}); err != nil {
		return nil, err
	}
	out := []string{a, b, p}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func driftedNames(found []worker.DriftResult) []string {
	out := make([]string, 0, len(found))
	for _, d := range found {
		out = append(out, d.RoleName)
	}
	slices.Sort(out)
	return out
}

// firstRoles is the store as the per-role drift check sees it: only the
// first left active roles.
type firstRoles struct {
	*store.DB
	left int
}

func (s *firstRoles) LiveWork(ctx context.Context, afterID int64, limit int) ([]store.Work, error) {
	if s.left <= 0 {
		return nil, nil
	}
	page, err := s.DB.LiveWork(ctx, afterID, min(limit, s.left))
	s.left -= len(page)
	return page, err
}
