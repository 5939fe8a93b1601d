// Package iamlocal is a local IAM endpoint: the IAM Query API (and STS
// GetCallerIdentity and AssumeRole) served over HTTP for development and
// tests, faithful to how AWS answers (XML shapes, error codes, limits) and
// with fault injection (latency, throttling, 5xx, failing chosen calls,
// eventual consistency). It holds one or more accounts, each with its own
// IAM state; plain credentials act in the first, and the temporary
// credentials AssumeRole issues act in the role's account.
//
// Point any AWS SDK or tool at it with its endpoint setting, e.g.
// AWS_ENDPOINT_URL_IAM=http://127.0.0.1:4566.
package iamlocal

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configures a Server. The zero value is a usable in-memory
// endpoint without faults.
type Options struct {
	AccountID        string           // default "123456789012"; must be Accounts[0] when both are set
	Latency          time.Duration    // added to every call
	ConsistencyDelay time.Duration    // new roles/profiles invisible to reads for this long
	ThrottleRate     float64          // 0..1 probability of Throttling
	FailureRate      float64          // 0..1 probability of ServiceFailure
	Seed             int64            // for the probabilities
	StatePath        string           // "" keeps state in memory
	MaxBodyBytes     int64            // default 1 MiB
	Now              func() time.Time // default time.Now
	Logger           *slog.Logger     // may be nil
	// RoleQuota and InstanceProfileQuota are the account's quotas of
	// roles and instance profiles; 0 means AWS's default, 1,000 each.
	// AWS raises them on request; benchmarks at scale raise them here.
	RoleQuota, InstanceProfileQuota int
	// Accounts are the 12-digit IDs of the accounts served, each with its
	// own IAM state (the quotas apply to each); plain credentials act in the
	// first. Empty means just AccountID. Every account after the first
	// starts with OrganizationAccountAccessRole, which the first may assume.
	Accounts []string
}

// Server is the local IAM endpoint; it is an http.Handler and safe for
// concurrent use. Each call is applied atomically under one lock.
type Server struct {
	opts    Options
	log     *slog.Logger
	actions map[string]action
	faults  *faults

	mu       sync.Mutex        // guards the fields below and the state file
	accounts map[string]*state // by account ID: the served ones and any others the state file held
	sessions map[string]*session
	// who and st are the caller of the call being applied and the state of
	// the account it acts in; apply sets them under mu before the handler
	// runs, so handlers see only their caller's account.
	who caller
	st  *state
}

// handler runs one action with s.mu held and returns the <ActionResult>
// content (nil for actions without output) or the IAM error to send.
type handler func(s *Server, p params) (any, *apiError)

type action struct {
	run   handler
	write bool // mutates state: counted by WriteCalls, persisted after
	sts   bool // answered in the STS namespace
}

// New returns a Server configured by opts. It returns an error when the
// options are out of range (an account ID not 12 digits or named twice) or StatePath exists but cannot be read or parsed;
// a StatePath that does not exist yet starts empty.
func New(opts Options) (*Server, error) {
	if err := normalizeAccounts(&opts); err != nil {
		return nil, err
	}
	if opts.ThrottleRate < 0 || opts.FailureRate < 0 || opts.ThrottleRate+opts.FailureRate > 1 {
		return nil, errors.New("iamlocal: throttle and failure rates must be within 0..1 and sum to at most 1")
	}
	if opts.Latency < 0 || opts.ConsistencyDelay < 0 {
		return nil, errors.New("iamlocal: latency and consistency delay must not be negative")
	}
	if opts.RoleQuota < 0 || opts.InstanceProfileQuota < 0 {
		return nil, errors.New("iamlocal: quotas must not be negative")
	}
	if opts.RoleQuota == 0 {
		opts.RoleQuota = defaultRoleQuota
	}
	if opts.InstanceProfileQuota == 0 {
		opts.InstanceProfileQuota = defaultProfileQuota
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: log, actions: actionTable(), faults: newFaults(opts.Seed),
		accounts: map[string]*state{}, sessions: map[string]*session{}}
	if opts.StatePath != "" {
		loaded, err := loadState(opts.StatePath, opts.AccountID)
		if err != nil {
			return nil, err
		}
		s.accounts = loaded
	}
	s.openAccounts()
	return s, nil
}

// ServeHTTP answers one IAM or STS Query API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		writeError(w, iamNamespace, newError("MissingAuthenticationToken", "Request is missing Authentication Token"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, iamNamespace, newError("RequestEntityTooLarge",
				"Request body is larger than the limit of %d bytes", s.opts.MaxBodyBytes))
			return
		}
		writeError(w, iamNamespace, newError("MalformedQueryString", "The request body could not be parsed"))
		return
	}
	p := params{r.Form}
	name := p.str("Action")
	act, ok := s.actions[name]
	ns := iamNamespace
	if act.sts || p.str("Version") == "2011-06-15" {
		ns = stsNamespace
	}
	if !ok {
		writeError(w, ns, newError("InvalidAction", "Could not find operation %s for version %s", name, p.str("Version")))
		return
	}
	cred := credentialsOf(r)
	s.faults.count(name, act.write)
	if err := s.wait(r.Context()); err != nil {
		return // the client is gone; there is no one to answer
	}
	if e := s.faults.inject(name, s.opts.ThrottleRate, s.opts.FailureRate); e != nil {
		s.log.Debug("iam call", "action", name, "injected", e.Code)
		writeError(w, ns, e)
		return
	}
	result, e := s.apply(act, p, cred)
	if e != nil {
		s.log.Debug("iam call", "action", name, "error_code", e.Code)
		writeError(w, ns, e)
		return
	}
	s.log.Debug("iam call", "action", name)
	if err := writeResult(w, ns, name, result); err != nil {
		s.log.Warn("iam response not written", "action", name, "err", err)
	}
}

// apply runs the action atomically, in the account the credentials act
// in, and saves the state after a write.
func (s *Server) apply(act action, p params, cred credentials) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	who, e := s.authenticate(cred)
	if e != nil {
		return nil, e
	}
	s.who, s.st = who, s.accounts[who.account]
	result, e := act.run(s, p)
	if e != nil || !act.write || s.opts.StatePath == "" {
		return result, e
	}
	if err := saveState(s.opts.StatePath, s.accounts); err != nil {
		s.log.Error("iam state not saved", "path", s.opts.StatePath, "err", err)
		return nil, newError("ServiceFailure", "The state could not be saved.")
	}
	return result, nil
}

// wait adds the configured latency; it returns the context's error when
// the request is cancelled first.
func (s *Server) wait(ctx context.Context) error {
	if s.opts.Latency <= 0 {
		return nil
	}
	t := time.NewTimer(s.opts.Latency)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

// visible reports whether an entity created at created has propagated,
// i.e. whether reads may see it yet.
func (s *Server) visible(created time.Time) bool {
	return !s.now().Before(created.Add(s.opts.ConsistencyDelay))
}
