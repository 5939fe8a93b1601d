package provision

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
)

// CallHook is told of every attempt of an IAM call: the operation's name
// (IAM's action, e.g. "CreateRole"), how long the attempt took, and its
// error (nil when IAM answered with success). It runs on the caller's
// goroutine, so it must be quick and safe for concurrent use.
type CallHook func(operation string, d time.Duration, err error)

// callHookID names the hook's middleware in the SDK's stack.
const callHookID = "rolegate.CallHook"

// addCallHook returns the SDK option that calls hook once per attempt:
// it sits in the finalize step just after the retryer, so each attempt the
// retryer makes passes through it on its own, and a throttled attempt the
// retryer then repeats is seen as throttled even when the call as a whole
// succeeds. The time measured is the attempt's: signing, the client-side
// rate limit's wait, the round trip and reading the answer.
func addCallHook(hook CallHook) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		mw := middleware.FinalizeMiddlewareFunc(callHookID, func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
			middleware.FinalizeOutput, middleware.Metadata, error) {
			start := time.Now()
			out, md, err := next.HandleFinalize(ctx, in)
			hook(awsmiddleware.GetOperationName(ctx), time.Since(start), err)
			return out, md, err
		})
		if _, ok := stack.Finalize.Get("Retry"); ok {
			return stack.Finalize.Insert(mw, "Retry", middleware.After)
		}
		return stack.Finalize.Add(mw, middleware.After)
	}
}

// throttles are the SDK's own throttling answers (Throttling,
// RequestLimitExceeded, an unmodelled HTTP 429, ...), which its retryer
// backs off from.
var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// IsThrottling reports whether err, an attempt's error as a CallHook sees
// it, is IAM asking rolegate to slow down. It returns false for nil and
// for every other error.
func IsThrottling(err error) bool {
	return err != nil && throttles.IsErrorThrottle(err) == aws.TrueTernary
}
