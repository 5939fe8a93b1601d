package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// retryableCodes are the IAM error codes worth trying again: the service
// was busy or another change was in flight. The client's retryer retries
// them itself; IsRetryable tells a caller (the worker) whether a failed
// Apply should be re-queued.
var retryableCodes = []string{
	"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
	"ServiceFailure", "ServiceUnavailable", "InternalFailure", "ConcurrentModification",
}

// credentialCodes are IAM's and STS's answers that the caller's
// credentials do not work in the account (or the region) at all, whatever
// the call: unlike a denial (AccessDenied), which a policy may make of one
// call or one resource only.
var credentialCodes = []string{"InvalidClientTokenId", "ExpiredToken", "SignatureDoesNotMatch", "UnrecognizedClientException",
	"RegionDisabledException"}

// assumeRefusedCodes are STS's answers to an AssumeRole the target account
// refuses (see refusal). ExpiredToken, SignatureDoesNotMatch and
// UnrecognizedClientException are left out on purpose: from STS they are
// about the hub's own credentials, not the spoke's trust policy, and must
// not be reported as the spoke refusing rolegate.
var assumeRefusedCodes = []string{"AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "RegionDisabledException"}

// IsCredentialFailure reports whether the IAM or STS error code says the
// caller's credentials do not work in the account at all (invalid,
// expired, wrongly signed, or STS disabled in the region), so that every
// call there fails alike. It returns false for a denial (AccessDenied), for
// "" and for every other code.
func IsCredentialFailure(code string) bool { return contains(credentialCodes, code) }

// CodeForeignEntity is the PermanentError code of a role or instance
// profile that exists but does not carry rolegate's ownership tags for the
// plan's request.
const CodeForeignEntity = "ForeignEntity"

// CodePathMismatch is the PermanentError code of a role or instance
// profile of the plan's name, rolegate's for the plan's request, under
// another path than the plan's: IAM cannot move it.
const CodePathMismatch = "PathMismatch"

// PermanentError is an IAM failure that retrying cannot fix: a malformed
// policy, a quota, invalid input, or an entity rolegate does not own.
// Message is IAM's own message (or rolegate's, for a foreign entity).
type PermanentError struct {
	Op      string // the IAM action, e.g. "CreateRole"
	Code    string // the IAM error code, or CodeForeignEntity
	Message string
	Err     error // the SDK error, if any
}

func (e *PermanentError) Error() string {
	return fmt.Sprintf("iam %s: %s: %s", e.Op, e.Code, e.Message)
}

func (e *PermanentError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is worth retrying later: throttling,
// service failures, HTTP 5xx, concurrent modification, network errors and
// timeouts (including the retryer giving up on any of those), a role or
// instance profile given more while Destroy removed it, and an instance
// profile another role took while Apply placed the plan's. It returns
// false for nil, permanent errors and cancellation.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var perm *PermanentError
	if errors.As(err, &perm) {
		return false
	}
	if errors.Is(err, errVisibilityTimeout) || errors.Is(err, errChangedMeanwhile) || errors.Is(err, errProfileTaken) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) && contains(retryableCodes, api.ErrorCode()) {
		return true
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) && resp.HTTPStatusCode() >= 500 {
		return true
	}
	if errors.As(err, &api) {
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) || strings.Contains(err.Error(), "connection reset")
}

// IsPermanent reports whether err is a *PermanentError.
func IsPermanent(err error) bool {
	var perm *PermanentError
	return errors.As(err, &perm)
}

// classify wraps a failed IAM call once: API errors that are not
// retryable become a *PermanentError carrying IAM's code and message;
// everything else is returned with the action named.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var perm *PermanentError
	if errors.As(err, &perm) {
		return err
	}
	var api smithy.APIError
	if errors.As(err, &api) && !IsRetryable(err) {
		return &PermanentError{Op: op, Code: api.ErrorCode(), Message: api.ErrorMessage(), Err: err}
	}
	return fmt.Errorf("iam %s: %w", op, err)
}

// isNoSuchEntity reports whether IAM said the entity does not exist.
func isNoSuchEntity(err error) bool { return errorCode(err) == "NoSuchEntity" }

// unlessMissing returns the answer out of IAM's read op, or nil when err
// says the entity does not exist; any other error comes back classified
// as op's, with a nil answer.
func unlessMissing[O any](op string, out *O, err error) (*O, error) {
	if isNoSuchEntity(err) {
		return nil, nil
	}
	if err != nil {
		return nil, classify(op, err)
	}
	return out, nil
}

// isAlreadyExists reports whether IAM refused to create an entity because
// one of that name exists.
func isAlreadyExists(err error) bool { return errorCode(err) == "EntityAlreadyExists" }

// errorCode is the IAM error code err carries, "" for none.
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// foreignError is the *PermanentError of a role or instance profile of
// the plan's names that is not the plan's (Plan.owns), naming its
// ownership tags and the ones the plan's would carry. One with the
// request's tags and no installation tag, which the plan's request may not
// adopt, is said to be another installation's from before installation
// IDs, naming the requests this one adopts for.
func foreignError(op, kind, name string, p Plan, tags map[string]string) error {
	managedBy, _ := tagValue(tags, TagManagedBy)
	owner, _ := tagValue(tags, TagRequestID)
	installation, tagged := tagValue(tags, TagInstallation)
	if !tagged && p.Installation != "" && managedBy == ManagedByValue && owner == p.Meta.RequestID {
		adopted := "none here: it held no request then"
		if p.AdoptsUpTo > 0 {
			adopted = fmt.Sprintf("requests up to %d here", p.AdoptsUpTo)
		}
		return &PermanentError{
			Op:   op,
			Code: CodeForeignEntity,
			Message: fmt.Sprintf("%s %q already exists but was not created by this installation (%s %q): it carries %s=%s and %s=%s but no %s tag, which only the roles of requests made before this installation drew its ID lack (%s), and request %s is not one of them: it is another rolegate installation's, made before that one had an ID; rolegate will not change it: choose another role name, or remove the existing %s",
				kind, name, TagInstallation, p.Installation, TagManagedBy, managedBy, TagRequestID, owner, TagInstallation, adopted, p.Meta.RequestID, kind),
		}
	}
	ours := "none"
	if p.Installation != "" {
		ours = strconv.Quote(p.Installation)
	}
	return &PermanentError{
		Op:   op,
		Code: CodeForeignEntity,
		Message: fmt.Sprintf("%s %q already exists but was not created by this rolegate for request %s (its %s tag is %q, its %s tag is %q and its %s tag is %q; this installation's is %s); rolegate will not change it: choose another role name, or remove the existing %s",
			kind, name, p.Meta.RequestID, TagManagedBy, managedBy, TagRequestID, owner, TagInstallation, installation, ours, kind),
	}
}
