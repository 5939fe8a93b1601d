package iamlocal

import (
	"regexp"
	"time"
)

// Session durations, in seconds, as STS and IAM bound them.
const (
	defaultMaxSession = 3600  // a role's MaxSessionDuration and AssumeRole's DurationSeconds by default
	minSession        = 900   // the shortest session AssumeRole issues
	maxSessionLimit   = 43200 // the longest MaxSessionDuration and DurationSeconds
	chainedMaxSession = 3600  // the longest session assumed with session credentials
)

var (
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	roleARNPattern     = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/(.*/)?([\w+=,.@-]+)$`)
)

// assumeRoleInput is AssumeRole's parameters after validation.
type assumeRoleInput struct {
	roleARN, account, path, name string // the ARN and its parts
	sessionName                  string
	duration                     int // seconds
	durationGiven                bool
	externalID                   string
	hasExternalID                bool
}

// assumeRoleParams reads and validates AssumeRole's parameters in STS's
// order, with its ValidationError wording. Session policies, tags and the
// source identity are accepted and not used: the endpoint evaluates no
// permissions.
func assumeRoleParams(p params) (in assumeRoleInput, err *apiError) {
	if in.roleARN, err = p.required("RoleArn", "roleArn"); err != nil {
		return in, err
	}
	if err := checkLength(in.roleARN, "roleArn", 20, 2048); err != nil {
		return in, err
	}
	if in.sessionName, err = p.required("RoleSessionName", "roleSessionName"); err != nil {
		return in, err
	}
	if err := checkLength(in.sessionName, "roleSessionName", 2, 64); err != nil {
		return in, err
	}
	if err := checkPattern(in.sessionName, "roleSessionName", sessionNamePattern, `[\w+=,.@-]*`); err != nil {
		return in, err
	}
	in.duration, in.durationGiven, err = p.intParam("DurationSeconds", "durationSeconds")
	if err != nil {
		return in, err
	}
	if !in.durationGiven {
		in.duration = defaultMaxSession
	} else if err := checkRange(in.duration, "durationSeconds", minSession, maxSessionLimit); err != nil {
		return in, err
	}
	in.externalID, in.hasExternalID = p.str("ExternalId"), p.has("ExternalId")
	if in.hasExternalID {
		if err := checkLength(in.externalID, "externalId", 2, 1224); err != nil {
			return in, err
		}
		if err := checkPattern(in.externalID, "externalId", externalIDPattern, `[\w+=,.@:\/-]*`); err != nil {
			return in, err
		}
	}
	m := roleARNPattern.FindStringSubmatch(in.roleARN)
	if m == nil {
		return in, newError("ValidationError", "Request ARN is invalid")
	}
	in.account, in.path, in.name = m[1], "/"+m[2], m[3]
	return in, nil
}

type xmlCredentials struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

type xmlAssumedRoleUser struct {
	AssumedRoleId string
	Arn           string
}

// assumeRoleResult is AssumeRole's <AssumeRoleResult>, in the order of
// AWS's documented example.
type assumeRoleResult struct {
	AssumedRoleUser xmlAssumedRoleUser
	Credentials     xmlCredentials
}

// assumeRole answers STS AssumeRole: temporary credentials for a role of
// any served account whose trust policy allows the caller. A role that
// does not exist (or not yet, within the consistency delay), in an account
// not served, or whose trust policy does not allow the caller, is
// AccessDenied alike, as AWS tells them apart to no one.
func assumeRole(s *Server, p params) (any, *apiError) {
	in, err := assumeRoleParams(p)
	if err != nil {
		return nil, err
	}
	r := s.assumable(in)
	if r == nil || !trustAllows(r.TrustPolicy, assumeRequest{caller: s.who, externalID: in.externalID, hasExternalID: in.hasExternalID}) {
		return nil, newError("AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s",
			s.who.arn(), in.roleARN)
	}
	if s.who.session != nil && in.duration > chainedMaxSession {
		return nil, newError("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if in.duration > r.MaxSessionDuration {
		return nil, newError("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	se := s.startSession(in.account, r, in.sessionName, time.Duration(in.duration)*time.Second)
	return assumeRoleResult{
		AssumedRoleUser: xmlAssumedRoleUser{AssumedRoleId: se.userID(), Arn: se.arn()},
		Credentials: xmlCredentials{AccessKeyId: se.accessKeyID, SecretAccessKey: se.secret,
			SessionToken: se.token, Expiration: se.expires.Format(isoTime)},
	}, nil
}

// assumable returns the role the ARN names, nil when its account is not
// served, it does not exist with that path, or reads do not see it yet.
// The name is matched regardless of case, as IAM names are.
func (s *Server) assumable(in assumeRoleInput) *role {
	if !s.served(in.account) {
		return nil
	}
	r, ok := s.accounts[in.account].Roles[nameKey(in.name)]
	if !ok || r.Path != in.path || !s.visible(r.Created) {
		return nil
	}
	return r
}
