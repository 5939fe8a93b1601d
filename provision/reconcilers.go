package provision

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"
)

// ReconcilersOptions tune NewReconcilers.
type ReconcilersOptions struct {
	// Client is the retry and rate settings of every IAM client; the rate
	// limit is per account, as IAM's own is.
	Client ClientOptions
	// Reconciler is passed to every Reconciler.
	Reconciler ReconcilerOptions
	// IAM and STS are applied to the clients after rolegate's options
	// (tests point them at a local endpoint).
	IAM []func(*iam.Options)
	STS []func(*sts.Options)
	// SessionDuration of assumed credentials; 0 means one hour.
	SessionDuration time.Duration
	// ExpiryWindow: assumed credentials are replaced this long before
	// they expire, so no call is signed with credentials about to lapse;
	// 0 means 5 minutes.
	ExpiryWindow time.Duration
	// CacheSize is how many (account, session) clients are kept; 0 means
	// 256. The least recently used goes first.
	CacheSize int
}

// Reconcilers hands out the Reconciler acting in each configured account:
// for an account reached with rolegate's own credentials, a client with
// those; for a spoke, a client whose credentials come from assuming the
// account's provisioner role (stscreds.AssumeRoleProvider with the
// account's external ID, cached and refreshed before they expire). It is
// safe for concurrent use.
type Reconcilers struct {
	set   Settings
	base  aws.Config
	opts  ReconcilersOptions
	stsc  *sts.Client
	fixed *Reconciler // SingleAccount

	mu       sync.Mutex
	limiters map[string]*rate.Limiter // by account name
	cache    map[string]*cachedReconciler
	tick     uint64
}

type cachedReconciler struct {
	rec  *Reconciler
	used uint64
}

// NewReconcilers builds the reconcilers of set's accounts from base, the
// hub's AWS configuration (its region and credentials). It calls nothing.
func NewReconcilers(base aws.Config, set Settings, opts ReconcilersOptions) *Reconcilers {
	if base.Region == "" {
		base.Region = "us-east-1"
	}
	if opts.SessionDuration <= 0 {
		opts.SessionDuration = time.Hour
	}
	if opts.ExpiryWindow <= 0 {
		opts.ExpiryWindow = 5 * time.Minute
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 256
	}
	stsOpts := opts.STS
	if opts.Client.OnCall != nil {
		// STS's calls (AssumeRole into spokes, GetCallerIdentity) are
		// told of too, as IAM's are.
		hook := func(o *sts.Options) { o.APIOptions = append(o.APIOptions, addCallHook(opts.Client.OnCall)) }
		stsOpts = append([]func(*sts.Options){hook}, opts.STS...)
	}
	return &Reconcilers{
		set: set, base: base, opts: opts, stsc: sts.NewFromConfig(base, stsOpts...),
		limiters: map[string]*rate.Limiter{}, cache: map[string]*cachedReconciler{},
	}
}

// SingleAccount serves every account with rec: for a deployment with one
// account, and for tests of one account.
func SingleAccount(rec *Reconciler) *Reconcilers {
	return &Reconcilers{fixed: rec}
}

var sessionNameRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// For returns the reconciler acting in the account named account ("" the
// default) whose IAM calls are made in a role session named session (it
// names the request or job they serve, in the account's CloudTrail). It
// calls nothing: a spoke's role is assumed at the first IAM call. It
// returns an error for an unknown account or a session name AWS refuses.
func (r *Reconcilers) For(account, session string) (*Reconciler, error) {
	if r.fixed != nil {
		return r.fixed, nil
	}
	a, ok := r.set.Account(account)
	if !ok {
		_, _, err := r.set.In(account)
		return nil, err
	}
	if !sessionNameRe.MatchString(session) {
		return nil, fmt.Errorf("role session name %q: want 2 to 64 letters, digits or + = , . @ _ -", session)
	}
	key := a.Name + "\x00" + session
	if !a.Assumed() {
		key = a.Name // one client for every session: nothing is assumed
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tick++
	if c, ok := r.cache[key]; ok {
		c.used = r.tick
		return c.rec, nil
	}
	if len(r.cache) >= r.opts.CacheSize {
		r.evictLocked()
	}
	rec := NewReconciler(r.client(a, session), r.opts.Reconciler)
	r.cache[key] = &cachedReconciler{rec: rec, used: r.tick}
	return rec, nil
}

func (r *Reconcilers) evictLocked() {
	var oldest string
	var at uint64
	for k, c := range r.cache {
		if oldest == "" || c.used < at {
			oldest, at = k, c.used
		}
	}
	delete(r.cache, oldest)
}

// client builds the IAM client of account a; r.mu is held.
func (r *Reconcilers) client(a Account, session string) *iam.Client {
	lim, ok := r.limiters[a.Name]
	if !ok {
		lim = newLimiter(r.opts.Client)
		r.limiters[a.Name] = lim
	}
	cfg := r.base.Copy()
	if a.Assumed() {
		assume := stscreds.NewAssumeRoleProvider(r.stsc, a.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = session
			o.Duration = r.opts.SessionDuration
			if a.ExternalID != "" {
				o.ExternalID = aws.String(a.ExternalID)
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(refusal{next: assume, account: a}, func(o *aws.CredentialsCacheOptions) {
			o.ExpiryWindow = r.opts.ExpiryWindow
			o.ExpiryWindowJitterFrac = 0.1
		})
	}
	return iam.NewFromConfig(cfg, append([]func(*iam.Options){clientOptions(r.opts.Client, lim)}, r.opts.IAM...)...)
}

// refusal turns a spoke refusing rolegate (its trust policy does not
// admit the hub, or the external ID is wrong) into a PermanentError naming
// the account and the role: retrying cannot fix a trust policy.
type refusal struct {
	next    aws.CredentialsProvider
	account Account
}

func (p refusal) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.next.Retrieve(ctx)
	var api smithy.APIError
	if err != nil && errors.As(err, &api) && contains(assumeRefusedCodes, api.ErrorCode()) {
		return c, &PermanentError{Op: "AssumeRole", Code: api.ErrorCode(), Err: err,
			Message: fmt.Sprintf("account %s (%s) refuses rolegate: cannot assume %s: %s", p.account.Name, p.account.ID, p.account.RoleARN, api.ErrorMessage())}
	}
	return c, err
}

// CheckHub confirms, with STS GetCallerIdentity, that rolegate's own
// credentials act in the hub: the configured account without a role_arn.
// With no accounts configured, or none without a role_arn, there is
// nothing to confirm. It returns an error naming both accounts when they
// differ, so that roles are never created in an account the stored ARNs
// do not name; or the STS error.
func (r *Reconcilers) CheckHub(ctx context.Context) error {
	if r.fixed != nil {
		return nil
	}
	var hub Account
	for _, a := range r.set.Accounts {
		if !a.Assumed() {
			hub = a
			break
		}
	}
	if hub.ID == "" {
		return nil
	}
	out, err := r.stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("confirm the hub account with STS GetCallerIdentity: %w", err)
	}
	if got := aws.ToString(out.Account); got != hub.ID {
		return fmt.Errorf("rolegate's credentials act in account %s (%s), but the accounts file names %s (%s) as the hub, the account without a role_arn: "+
			"run with the hub's credentials, or correct the file", got, aws.ToString(out.Arn), hub.Name, hub.ID)
	}
	return nil
}
