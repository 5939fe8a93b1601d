package provision

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// Reconciler brings IAM to a Plan through the IAM API, and removes what a
// Plan created. It is safe for concurrent use on different plans.
type Reconciler struct {
	client *iam.Client
	opts   ReconcilerOptions
}

// ReconcilerOptions bound the waits for IAM's eventual consistency and
// supply the clock the waits are measured with.
type ReconcilerOptions struct {
	// VisibilityTimeout bounds each wait for a new role or instance
	// profile to be returned by IAM; 0 means 2 minutes.
	VisibilityTimeout time.Duration
	// PollMinDelay and PollMaxDelay bound the back-off between polls
	// while waiting; 0 means 1s and 10s.
	PollMinDelay, PollMaxDelay time.Duration
	// Now is the clock used to measure waits; nil means time.Now.
	Now func() time.Time
	// SnapshotPageSize is how many roles a page of ReadSnapshot's bulk
	// reads asks for; 0 means 1,000, the most IAM gives.
	SnapshotPageSize int32
}

// NewReconciler returns a Reconciler calling IAM through client (build it
// with NewIAMClient for rolegate's retries and rate limit).
func NewReconciler(client *iam.Client, opts ReconcilerOptions) *Reconciler {
	opts.VisibilityTimeout = positiveOr(opts.VisibilityTimeout, 2*time.Minute)
	opts.PollMinDelay = positiveOr(opts.PollMinDelay, time.Second)
	opts.PollMaxDelay = max(positiveOr(opts.PollMaxDelay, 10*time.Second), opts.PollMinDelay)
	opts.SnapshotPageSize = positiveOr(opts.SnapshotPageSize, 1000)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Reconciler{client: client, opts: opts}
}

// positiveOr is v, or def when v is not positive (unset).
func positiveOr[T int32 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Outcome is what Apply or Destroy did to one resource.
type Outcome string

// The outcomes of a resource.
const (
	OutcomeCreated   Outcome = "created"
	OutcomeUpdated   Outcome = "updated"
	OutcomeUnchanged Outcome = "unchanged"
	OutcomeDeleted   Outcome = "deleted"
	OutcomeAbsent    Outcome = "absent" // Destroy found nothing to delete
	// OutcomeForeign: Sweep found the resource but it is not rolegate's
	// for the plan's request, so it left it alone.
	OutcomeForeign Outcome = "foreign"
)

// ResourceKind names the kind of an IAM resource in a Report.
type ResourceKind string

// The kinds of resource a Plan has.
const (
	KindRole            ResourceKind = "role"
	KindInlinePolicy    ResourceKind = "inline-policy"
	KindAttachment      ResourceKind = "policy-attachment"
	KindInstanceProfile ResourceKind = "instance-profile"
	KindProfileRole     ResourceKind = "profile-role"
)

// ResourceResult is one resource in a Report. ARN is the resource's ARN;
// an inline policy has none of its own, so it carries its role's ARN, and
// an attachment carries the managed policy's ARN. In a dry run ARNs of
// resources still to be created are predicted (with `*` for an unknown
// account).
type ResourceResult struct {
	Kind    ResourceKind `json:"kind"`
	Name    string       `json:"name"`
	ARN     string       `json:"arn"`
	Outcome Outcome      `json:"outcome"`
	Changes []string     `json:"changes,omitempty"`
}

// Call is one IAM write call Apply made, or a dry run would make.
type Call struct {
	Action string `json:"action"`
	Target string `json:"target"`
	Detail string `json:"detail,omitempty"`
}

func (c Call) String() string {
	s := c.Action + " " + c.Target
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}

// Report is what Apply, DryRun or Destroy did, resource by resource, with
// the write calls in order and the time spent waiting for IAM to show new
// entities.
type Report struct {
	DryRun      bool             `json:"dry_run"`
	Resources   []ResourceResult `json:"resources"`
	Calls       []Call           `json:"calls"`
	RoleWait    time.Duration    `json:"role_wait"`
	ProfileWait time.Duration    `json:"profile_wait"`
}

// Changed reports whether any resource was created, updated or deleted.
func (r Report) Changed() bool {
	for _, res := range r.Resources {
		if res.Outcome != OutcomeUnchanged && res.Outcome != OutcomeAbsent && res.Outcome != OutcomeForeign {
			return true
		}
	}
	return false
}

// String renders the report one resource per line, then the calls.
func (r Report) String() string {
	var b strings.Builder
	for _, res := range r.Resources {
		fmt.Fprintf(&b, "%-9s %-17s %s %s\n", res.Outcome, res.Kind, res.Name, res.ARN)
		for _, c := range res.Changes {
			fmt.Fprintf(&b, "          - %s\n", c)
		}
	}
	verb := "calls made"
	if r.DryRun {
		verb = "calls that would be made"
	}
	fmt.Fprintf(&b, "%d %s:\n", len(r.Calls), verb)
	for _, c := range r.Calls {
		fmt.Fprintf(&b, "  %s\n", c)
	}
	if r.RoleWait > 0 || r.ProfileWait > 0 {
		fmt.Fprintf(&b, "waited %s for the role and %s for the instance profile to become visible\n", r.RoleWait, r.ProfileWait)
	}
	return b.String()
}

// Apply brings IAM to the plan: it creates what is missing, repairs what
// drifted and reports each resource as created, updated or unchanged. It
// is idempotent and resumes from any partial state. It returns a
// *PermanentError when an entity exists that rolegate does not own for
// this request, or when IAM refuses the request for good; other errors
// (see IsRetryable) are worth retrying. The Report lists what was done up
// to the failure.
func (r *Reconciler) Apply(ctx context.Context, p Plan) (Report, error) {
	run := &run{r: r, plan: p}
	err := run.apply(ctx)
	return run.report, err
}

// ApplyChecked is Apply that calls check before each write call and stops,
// returning check's error, as soon as check fails: a caller whose right to
// write can be withdrawn meanwhile (the worker, when the request is
// revoked during provisioning) writes nothing more after it is.
func (r *Reconciler) ApplyChecked(ctx context.Context, p Plan, check func(context.Context) error) (Report, error) {
	return r.ApplyWith(ctx, p, ApplyOptions{Check: check})
}

// ApplyOptions are the choices of one ApplyWith.
type ApplyOptions struct {
	// Check, when set, is called before each write call, and the apply
	// stops with its error as soon as it fails (see ApplyChecked).
	Check func(context.Context) error
	// Fresh says the plan's role and instance profile are expected not to
	// exist yet (a first provisioning). Each is then created without being
	// read first, and nothing is read that the creating call answered: a
	// new role costs its writes and one read, the one that awaits
	// readiness. A name IAM answers EntityAlreadyExists for (a run that
	// stopped part-way, or someone else's entity) is read and checked as
	// Apply does, so foreign entities are refused all the same. Without
	// Fresh, what exists is read first, so an unchanged plan costs no
	// write call.
	Fresh bool
}

// ApplyWith is Apply with options; it returns what Apply returns.
func (r *Reconciler) ApplyWith(ctx context.Context, p Plan, o ApplyOptions) (Report, error) {
	run := &run{r: r, plan: p, check: o.Check, fresh: o.Fresh}
	err := run.apply(ctx)
	return run.report, err
}

// DryRun reads IAM and returns the Report Apply would produce, with the
// write calls it would make, without writing anything. It fails like
// Apply on foreign entities and read errors.
func (r *Reconciler) DryRun(ctx context.Context, p Plan) (Report, error) {
	run := &run{r: r, plan: p, dry: true}
	run.report.DryRun = true
	err := run.apply(ctx)
	return run.report, err
}

// run is the state of one Apply, DryRun, Destroy or Sweep.
type run struct {
	r    *Reconciler
	plan Plan
	dry  bool
	// check, when set, is asked before each write (ApplyChecked).
	check func(context.Context) error
	// fresh creates without reading first (ApplyOptions.Fresh).
	fresh bool
	// leaveForeign makes a destroy skip what is not the plan's (Sweep);
	// leaveForeignProfile only an instance profile (Revoke).
	leaveForeign, leaveForeignProfile bool
	// snap, when set, is the role's state read in bulk (DryRunFrom):
	// the reads below take it from there instead of calling IAM.
	snap   *roleState
	report Report
}

// write records a write call and, unless this is a dry run, makes it.
func (x *run) write(ctx context.Context, c Call, fn func(context.Context) error) error {
	if x.dry {
		x.report.Calls = append(x.report.Calls, c)
		return nil
	}
	if x.check != nil {
		if err := x.check(ctx); err != nil {
			return err
		}
	}
	x.report.Calls = append(x.report.Calls, c)
	return classify(c.Action, fn(ctx))
}

func (x *run) result(res ResourceResult) {
	x.report.Resources = append(x.report.Resources, res)
}

func (x *run) apply(ctx context.Context) error {
	roleARN, created, err := x.applyRole(ctx)
	if err != nil {
		return err
	}
	if err := x.applyInlinePolicy(ctx, roleARN, created); err != nil {
		return err
	}
	if err := x.applyAttachments(ctx, created); err != nil {
		return err
	}
	return x.applyProfile(ctx, created)
}

// outcome is created/updated/unchanged from whether it existed and what
// changed.
func outcome(existed bool, changes []string) Outcome {
	switch {
	case !existed:
		return OutcomeCreated
	case len(changes) > 0:
		return OutcomeUpdated
	default:
		return OutcomeUnchanged
	}
}

// CreateCalls is how many IAM calls ApplyWith with Fresh makes for the plan
// when none of it exists and IAM shows new entities at once: one write per
// resource (the role, its inline policy, each managed policy attachment,
// the instance profile and the role's place in it) and the one read that
// finds the profile holding the role. No provisioning of a new role can
// make fewer writes, so it is the floor the bench measures against.
func (p Plan) CreateCalls() int {
	return 4 + len(p.ManagedPolicies) + 1
}
