package auth

import (
	"errors"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// SignInError is a sign-in that did not finish. Status is a 4xx when the
// answer that came back cannot sign anyone in (a code the provider
// refuses, a state or nonce of another sign-in, an ID token that fails
// verification): the user can only start again. It is 502 when the
// identity provider could not be reached or answered with an error of its
// own. Reason is for people; Cause, when not nil, is for the log only and
// never holds a code, token or secret.
type SignInError struct {
	Status int
	Reason string
	Cause  error
}

func (e *SignInError) Error() string {
	if e.Cause != nil {
		return "sign-in failed: " + e.Reason + ": " + e.Cause.Error()
	}
	return "sign-in failed: " + e.Reason
}

func (e *SignInError) Unwrap() error { return e.Cause }

// Message is what the error page says: what went wrong, and to start
// again (a page for a provider that cannot be reached says to wait).
func (e *SignInError) Message() string {
	if e.Status >= 500 {
		return "Sign-in failed: " + e.Reason + " Try signing in again in a moment."
	}
	return "Sign-in failed: " + e.Reason + " Try signing in again."
}

func refuseSignIn(status int, reason string, cause error) *SignInError {
	return &SignInError{Status: status, Reason: reason, Cause: cause}
}

// unreachable is a provider that cannot be asked: discovery or a
// connection failed, or it answered the token request with a server
// error. Its cause keeps only the kind of failure, not the URL's query.
func unreachable(what string, err error) *SignInError {
	return refuseSignIn(http.StatusBadGateway,
		"the identity provider could not be reached ("+what+").", safeCause(err))
}

// exchangeFailure sorts a failed code exchange: the provider refusing the
// code (invalid_grant for a code that expired or was used before, or any
// other 4xx) is a 400; a provider that did not answer, or answered with
// 5xx, is a 502.
func exchangeFailure(err error) *SignInError {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
		code := re.ErrorCode
		if code == "" {
			code = http.StatusText(re.Response.StatusCode)
		}
		return refuseSignIn(http.StatusBadRequest,
			"the identity provider did not accept the sign-in code (it may have expired or been used already).",
			errors.New("token endpoint refused the code: "+code))
	}
	return unreachable("token endpoint", err)
}

// safeCause keeps what a log reader needs of err: a network error's
// operation and failure, without the URL (whose query could carry a
// code), or for a provider's error answer its status and error code.
func safeCause(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil {
			return errors.New("provider answered " + re.Response.Status + " " + re.ErrorCode)
		}
		return errors.New("provider answered " + re.ErrorCode)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New(ue.Op + ": " + ue.Err.Error())
	}
	return err
}
