package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
)

// errVisibilityTimeout is wrapped by the error Apply returns when IAM did
// not show a new entity within ReconcilerOptions.VisibilityTimeout. It is
// retryable: applying again resumes where this run stopped.
var errVisibilityTimeout = errors.New("IAM did not show the new entity in time")

// waitRole waits, with the SDK's RoleExists waiter and a bound, until IAM
// returns the role, and adds the time taken to the report. It returns the
// role, or the error of a read or the timeout.
func (x *run) waitRole(ctx context.Context) (*types.Role, error) {
	start := x.r.opts.Now()
	w := iam.NewRoleExistsWaiter(x.r.client, func(o *iam.RoleExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = x.r.opts.PollMinDelay, x.r.opts.PollMaxDelay
	})
	out, err := w.WaitForOutput(ctx, &iam.GetRoleInput{RoleName: aws.String(x.plan.Role.Name)}, x.r.opts.VisibilityTimeout)
	x.report.RoleWait += x.r.opts.Now().Sub(start)
	if err := visibilityError(ctx, "GetRole", "role", x.plan.Role.Name, x.r.opts.VisibilityTimeout.String(), err); err != nil {
		return nil, err
	}
	return out.Role, nil
}

// waitProfile waits, with the SDK's InstanceProfileExists waiter and a
// bound, until IAM returns the profile and, if role is not empty, shows
// the role in it. The time taken is added to the report. It returns the
// profile, or the error of a read or the timeout.
func (x *run) waitProfile(ctx context.Context, role string) (*types.InstanceProfile, error) {
	return x.waitProfileUntil(ctx, func(p *types.InstanceProfile) bool { return role == "" || holdsRole(p, role) })
}

// holdsRole reports whether IAM shows the profile holding the role.
func holdsRole(p *types.InstanceProfile, role string) bool {
	return slices.ContainsFunc(p.Roles, func(r types.Role) bool { return aws.ToString(r.RoleName) == role })
}

// waitProfileUntil is waitProfile for any condition on the profile: it
// polls until IAM returns the profile and done accepts it.
func (x *run) waitProfileUntil(ctx context.Context, done func(*types.InstanceProfile) bool) (*types.InstanceProfile, error) {
	start := x.r.opts.Now()
	w := iam.NewInstanceProfileExistsWaiter(x.r.client, func(o *iam.InstanceProfileExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = x.r.opts.PollMinDelay, x.r.opts.PollMaxDelay
		o.Retryable = func(ctx context.Context, _ *iam.GetInstanceProfileInput, out *iam.GetInstanceProfileOutput, err error) (bool, error) {
			if isNoSuchEntity(err) {
				return true, nil
			}
			if err != nil {
				return false, err
			}
			return !done(out.InstanceProfile), nil
		}
	})
	out, err := w.WaitForOutput(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(x.plan.InstanceProfile.Name)}, x.r.opts.VisibilityTimeout)
	x.report.ProfileWait += x.r.opts.Now().Sub(start)
	if err := visibilityError(ctx, "GetInstanceProfile", "instance profile", x.plan.InstanceProfile.Name, x.r.opts.VisibilityTimeout.String(), err); err != nil {
		return nil, err
	}
	return out.InstanceProfile, nil
}

// untilVisible returns fn, a write naming an entity this run created, made
// once more after await when IAM answers NoSuchEntity: IAM may not know a
// new entity everywhere for a few seconds. Writing straight away and
// waiting only when told to costs no read when IAM is quick. A second
// NoSuchEntity is IAM's answer (e.g. a managed policy that does not exist).
func untilVisible(fn, await func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		err := fn(ctx)
		if !isNoSuchEntity(err) {
			return err
		}
		if err := await(ctx); err != nil {
			return err
		}
		return fn(ctx)
	}
}

// visibilityError tells a waiter that ran out of time (retryable) from
// the caller's cancellation and from IAM errors, which are classified.
func visibilityError(ctx context.Context, op, kind, name, bound string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return classify(op, err)
	}
	return fmt.Errorf("waiting for %s %q (up to %s): %w: %w", kind, name, bound, errVisibilityTimeout, err)
}
