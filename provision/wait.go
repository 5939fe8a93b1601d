package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
)

// errVisibilityTimeout is wrapped by the error Apply returns when IAM did
// not show a new entity within ReconcilerOptions.VisibilityTimeout. It is
// retryable: applying again resumes where this run stopped.
var errVisibilityTimeout = errors.New("IAM did not show the new entity in time")

// waitRole waits, with the SDK's RoleExists waiter and a bound, until IAM
// returns the role, and adds the time taken to the report.
func (x *run) waitRole(ctx context.Context) error {
	start := x.r.opts.Now()
	w := iam.NewRoleExistsWaiter(x.r.client, func(o *iam.RoleExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = x.r.opts.PollMinDelay, x.r.opts.PollMaxDelay
	})
	err := w.Wait(ctx, &iam.GetRoleInput{RoleName: aws.String(x.plan.Role.Name)}, x.r.opts.VisibilityTimeout)
	x.report.RoleWait += x.r.opts.Now().Sub(start)
	return visibilityError(ctx, "GetRole", "role", x.plan.Role.Name, x.r.opts.VisibilityTimeout.String(), err)
}

// waitProfile waits, with the SDK's InstanceProfileExists waiter and a
// bound, until IAM returns the profile and, if role is not empty, shows
// the role in it. The time taken is added to the report.
func (x *run) waitProfile(ctx context.Context, role string) error {
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
			if role == "" {
				return false, nil
			}
			for _, r := range out.InstanceProfile.Roles {
				if aws.ToString(r.RoleName) == role {
					return false, nil
				}
			}
			return true, nil
		}
	})
	err := w.Wait(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(x.plan.InstanceProfile.Name)}, x.r.opts.VisibilityTimeout)
	x.report.ProfileWait += x.r.opts.Now().Sub(start)
	return visibilityError(ctx, "GetInstanceProfile", "instance profile", x.plan.InstanceProfile.Name, x.r.opts.VisibilityTimeout.String(), err)
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
