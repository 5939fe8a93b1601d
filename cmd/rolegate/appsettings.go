package main

import (
	"flag"
	"net/url"
	"strings"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// appSettings are the settings of the workflow and the worker, shared by
// serve, dev and worker.
type appSettings struct {
	concurrency        int
	iamRate            float64
	maxAttempts        int
	jobTimeout         time.Duration
	driftInterval      time.Duration
	repairDrift        bool
	remindBefore       time.Duration
	reviewInterval     string
	reviewGrace        string
	webhookURLs        string
	webhookSecret      string
	approvals          int
	approvalsElevated  int
	elevateOverBuckets int
	routes             string
	autoApprove        bool
	risks              provision.RiskThresholds
	provision          func() (provision.Settings, error)
	// defaultAccounts are the accounts used when none are configured
	// (dev's local dev and prod); nil: the one default account. The
	// approval routes are checked against them.
	defaultAccounts []provision.Account
}

func (a *appSettings) register(fs *flag.FlagSet, getenv func(string) string, errs *settingErrors) {
	fs.IntVar(&a.concurrency, "worker-concurrency", envInt(getenv, "WORKER_CONCURRENCY", 8, errs), "provisioning jobs run at once per worker [WORKER_CONCURRENCY]")
	fs.Float64Var(&a.iamRate, "iam-rate", envFloat(getenv, "IAM_RATE_LIMIT", provision.DefaultRatePerSecond, errs), "most IAM calls per second per worker, retries included [IAM_RATE_LIMIT]")
	fs.IntVar(&a.maxAttempts, "job-attempts", envInt(getenv, "JOB_MAX_ATTEMPTS", 10, errs), "attempts of every job (provisioning, revocation, webhook delivery) before it gives up and the request fails [JOB_MAX_ATTEMPTS]")
	fs.DurationVar(&a.jobTimeout, "job-timeout", envDuration(getenv, "JOB_TIMEOUT", 10*time.Minute, errs),
		"how long one job may run; a job left running by a killed worker is retried after twice this [JOB_TIMEOUT]")
	fs.DurationVar(&a.driftInterval, "drift-interval", envDuration(getenv, "DRIFT_INTERVAL", time.Hour, errs), "how often active roles are compared with their plans; 0 disables [DRIFT_INTERVAL]")
	fs.BoolVar(&a.repairDrift, "drift-repair", envBool(getenv, "DRIFT_REPAIR", false, errs), "put drifted roles back to their plans [DRIFT_REPAIR=true]")
	fs.DurationVar(&a.remindBefore, "expiry-reminder", envDuration(getenv, "EXPIRY_REMINDER", 24*time.Hour, errs), "send the expiry webhook this long before a role expires; 0 disables [EXPIRY_REMINDER]")
	fs.StringVar(&a.reviewInterval, "review-interval", envString(getenv, "REVIEW_INTERVAL", "0"),
		"access reviews: each live role's owner confirms it every this long (90d, 2160h), or it is revoked; 0 turns reviews off [REVIEW_INTERVAL]")
	fs.StringVar(&a.reviewGrace, "review-grace", envString(getenv, "REVIEW_GRACE", "14d"),
		"how long after the review reminder an unconfirmed role is revoked (14d, 72h) [REVIEW_GRACE]")
	fs.StringVar(&a.webhookURLs, "webhook-urls", getenv("WEBHOOK_URLS"), "comma-separated URLs receiving request events as JSON [WEBHOOK_URLS]")
	fs.StringVar(&a.webhookSecret, "webhook-secret", getenv("WEBHOOK_SECRET"), "key of the HMAC-SHA256 X-Rolegate-Signature and X-Rolegate-Signature-Timestamped headers of webhooks (prefer the env var) [WEBHOOK_SECRET]")
	fs.IntVar(&a.approvals, "approvals", envInt(getenv, "APPROVALS_REQUIRED", 1, errs), "approvals a read-only request needs [APPROVALS_REQUIRED]")
	fs.IntVar(&a.approvalsElevated, "approvals-elevated", envInt(getenv, "APPROVALS_ELEVATED", 2, errs), "approvals a request needs when it can write or names many buckets [APPROVALS_ELEVATED]")
	fs.IntVar(&a.elevateOverBuckets, "elevate-over-buckets", envInt(getenv, "ELEVATE_OVER_BUCKETS", 5, errs), "more buckets than this need the elevated approvals [ELEVATE_OVER_BUCKETS]")
	fs.StringVar(&a.routes, "approval-routes", getenv("APPROVAL_ROUTES"), "comma-separated PATTERN=GROUP: requests for matching buckets also need an approval from GROUP [APPROVAL_ROUTES]")
	fs.BoolVar(&a.autoApprove, "auto-approve-narrowing", envBool(getenv, "AUTO_APPROVE_NARROWING", false, errs),
		"approve a change that grants no new access without a person (the no-new-access rule) [AUTO_APPROVE_NARROWING=true]")
	d := provision.DefaultRiskThresholds()
	fs.IntVar(&a.risks.MaxBuckets, "risk-max-buckets", envInt(getenv, "RISK_MAX_BUCKETS", d.MaxBuckets, errs), "flag a request reaching more buckets than this [RISK_MAX_BUCKETS]")
	fs.IntVar(&a.risks.MaxExpiryDays, "risk-max-expiry-days", envInt(getenv, "RISK_MAX_EXPIRY_DAYS", d.MaxExpiryDays, errs), "flag an expiry further away than this many days [RISK_MAX_EXPIRY_DAYS]")
	fs.IntVar(&a.risks.SharedBucketRoles, "risk-shared-bucket-roles", envInt(getenv, "RISK_SHARED_BUCKET_ROLES", d.SharedBucketRoles, errs), "flag a bucket also reached by at least this many other live roles [RISK_SHARED_BUCKET_ROLES]")
	a.provision = provisionFlags(fs, getenv)
}

// built is what appSettings turn into after checking.
type built struct {
	settings provision.Settings
	rules    store.ApprovalRules
	risks    provision.RiskThresholds
	webhooks []string
	reviews  store.ReviewPolicy
}

func (a *appSettings) build(errs *settingErrors) built {
	var b built
	set, err := a.provision()
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			errs.add("%s", line)
		}
	}
	if len(set.Accounts) == 0 && err == nil {
		set.Accounts = a.defaultAccounts
	}
	b.settings = set
	if a.concurrency < 1 || a.concurrency > 1000 {
		errs.add("--worker-concurrency / WORKER_CONCURRENCY: %d is not from 1 to 1000", a.concurrency)
	}
	if a.maxAttempts < 1 || a.maxAttempts > 100 {
		errs.add("--job-attempts / JOB_MAX_ATTEMPTS: %d is not from 1 to 100", a.maxAttempts)
	}
	if a.jobTimeout < time.Second || a.jobTimeout > 24*time.Hour {
		errs.add("--job-timeout / JOB_TIMEOUT: %s is not from 1s to 24h", a.jobTimeout)
	}
	if !(a.iamRate < 0 || a.iamRate >= 0.01 && a.iamRate <= 1000) { // NaN too
		errs.add("--iam-rate / IAM_RATE_LIMIT: %v is not a rate from 0.01 to 1000 calls per second (negative: no limit)", a.iamRate)
	}
	if a.driftInterval < 0 {
		errs.add("--drift-interval / DRIFT_INTERVAL: %s is negative (0 turns the check off)", a.driftInterval)
	}
	if a.remindBefore < 0 {
		errs.add("--expiry-reminder / EXPIRY_REMINDER: %s is negative (0 turns reminders off)", a.remindBefore)
	}
	b.reviews = a.reviewPolicy(errs)
	webhooks := splitList(a.webhookURLs)
	for i, u := range webhooks {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			// Not quoted: a webhook URL may carry the receiver's secret.
			errs.add("--webhook-urls / WEBHOOK_URLS: URL %d of %d is not an http(s) URL (http:// or https://, then a host)", i+1, len(webhooks))
			continue
		}
		b.webhooks = append(b.webhooks, u)
	}
	if len(b.webhooks) > 0 && a.webhookSecret == "" {
		errs.add("--webhook-secret / WEBHOOK_SECRET: required with webhook URLs, so receivers can check the signature")
	}
	b.rules = store.ApprovalRules{Required: a.approvals, Elevated: a.approvalsElevated, ElevateOverBuckets: a.elevateOverBuckets,
		AutoApproveNarrowing: a.autoApprove, Accounts: set.Accounts}
	b.risks = a.risks
	for _, x := range []struct {
		flag string
		v    int
	}{{"--risk-max-buckets / RISK_MAX_BUCKETS", a.risks.MaxBuckets}, {"--risk-max-expiry-days / RISK_MAX_EXPIRY_DAYS", a.risks.MaxExpiryDays},
		{"--risk-shared-bucket-roles / RISK_SHARED_BUCKET_ROLES", a.risks.SharedBucketRoles}} {
		if x.v < 1 || x.v > 100000 {
			errs.add("%s: %d is not from 1 to 100000", x.flag, x.v)
		}
	}
	for _, r := range splitList(a.routes) {
		pattern, group, ok := strings.Cut(r, "=")
		if !ok {
			errs.add("--approval-routes / APPROVAL_ROUTES: %q is not PATTERN=GROUP", r)
			continue
		}
		b.rules.Routes = append(b.rules.Routes, store.Route{Pattern: strings.TrimSpace(pattern), Group: strings.TrimSpace(group)})
	}
	if a.approvals < 1 || a.approvalsElevated < a.approvals || a.elevateOverBuckets < 1 {
		errs.add("--approvals / --approvals-elevated / --elevate-over-buckets: want approvals ≥ 1, elevated ≥ approvals, buckets ≥ 1 (got %d, %d, %d)",
			a.approvals, a.approvalsElevated, a.elevateOverBuckets)
	} else if err := b.rules.Validate(); err != nil {
		errs.add("--approval-routes / APPROVAL_ROUTES: %v", err)
	}
	return b
}

// reviewPolicy checks --review-interval and --review-grace: reviews off
// (0), or an interval from one hour to ten years and a grace from one hour
// to a year.
func (a *appSettings) reviewPolicy(errs *settingErrors) store.ReviewPolicy {
	var p store.ReviewPolicy
	var err error
	if p.Interval, err = parseDays(a.reviewInterval); err != nil {
		errs.add("--review-interval / REVIEW_INTERVAL: %v (e.g. 90d or 2160h; 0 turns reviews off)", err)
	} else if p.Interval != 0 && (p.Interval < time.Hour || p.Interval > 3650*24*time.Hour) {
		errs.add("--review-interval / REVIEW_INTERVAL: %s is not 0 (off) or from 1h to 3650d", a.reviewInterval)
	}
	if p.Grace, err = parseDays(a.reviewGrace); err != nil {
		errs.add("--review-grace / REVIEW_GRACE: %v (e.g. 14d or 72h)", err)
	} else if p.Grace < time.Hour || p.Grace > 365*24*time.Hour {
		errs.add("--review-grace / REVIEW_GRACE: %s is not from 1h to 365d", a.reviewGrace)
	}
	return p
}
