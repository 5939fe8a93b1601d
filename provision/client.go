package provision

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"golang.org/x/time/rate"
)

// ClientOptions tune the IAM client: how fast rolegate may call IAM and
// how it retries.
type ClientOptions struct {
	// RatePerSecond caps IAM calls per second, retries included (IAM's
	// own limit is per account and shared with everything else). 0 means
	// DefaultRatePerSecond; negative means no limit.
	RatePerSecond float64
	// Burst is how many calls may go at once before the rate applies; 0
	// means 1.
	Burst int
	// MaxAttempts per call, the first included; 0 means 5.
	MaxAttempts int
	// MaxBackoff caps the jittered exponential back-off; 0 means 20s.
	MaxBackoff time.Duration
	// OnCall, when set, is told of every attempt of every IAM call (see
	// CallHook), and of the STS calls of Reconcilers: rolegate's metrics
	// count them.
	OnCall CallHook
}

// DefaultRatePerSecond is the default cap on IAM calls per second.
const DefaultRatePerSecond = 10

// NewIAMClient builds an IAM client from the SDK's default configuration
// chain only (AWS_REGION, AWS_PROFILE, instance role, AWS_ENDPOINT_URL_IAM,
// ...), with rolegate's retryer and rate limit. loadOpts are passed to
// config.LoadDefaultConfig (tests use them for a local endpoint). It
// returns an error when the configuration cannot be loaded.
func NewIAMClient(ctx context.Context, opts ClientOptions, loadOpts ...func(*config.LoadOptions) error) (*iam.Client, error) {
	cfg, err := LoadAWSConfig(ctx, loadOpts...)
	if err != nil {
		return nil, err
	}
	return iam.NewFromConfig(cfg, IAMClientOptions(opts)), nil
}

// LoadReconcilers builds the reconcilers of set's accounts (NewReconcilers)
// on the SDK's default configuration chain, as NewIAMClient does; STS is
// reached through the same chain (AWS_ENDPOINT_URL_STS, ...). It returns
// an error when the configuration cannot be loaded.
func LoadReconcilers(ctx context.Context, set Settings, opts ReconcilersOptions, loadOpts ...func(*config.LoadOptions) error) (*Reconcilers, error) {
	cfg, err := LoadAWSConfig(ctx, loadOpts...)
	if err != nil {
		return nil, err
	}
	return NewReconcilers(cfg, set, opts), nil
}

// LoadAWSConfig loads the SDK's default configuration chain, in region
// us-east-1 when none is set (IAM is global). It returns an error when the
// configuration cannot be loaded.
func LoadAWSConfig(ctx context.Context, loadOpts ...func(*config.LoadOptions) error) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		// IAM is global; its endpoint and signing region are us-east-1
		// in the aws partition.
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// IAMClientOptions returns the iam.Options function NewIAMClient applies:
// the standard retryer with rolegate's retryable codes added, and the
// client-side rate limit wrapped around the HTTP client.
func IAMClientOptions(opts ClientOptions) func(*iam.Options) {
	return clientOptions(opts, newLimiter(opts))
}

// newLimiter is the rate limit opts ask for; nil means none.
func newLimiter(opts ClientOptions) *rate.Limiter {
	perSecond := opts.RatePerSecond
	if perSecond == 0 {
		perSecond = DefaultRatePerSecond
	}
	if perSecond < 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(opts.Burst, 1))
}

// clientOptions is IAMClientOptions with the limiter given, so that the
// clients of one account can share it (IAM's limit is per account).
func clientOptions(opts ClientOptions, limiter *rate.Limiter) func(*iam.Options) {
	return func(o *iam.Options) {
		attempts := opts.MaxAttempts
		if attempts <= 0 {
			attempts = 5
		}
		backoff := opts.MaxBackoff
		if backoff <= 0 {
			backoff = retry.DefaultMaxBackoff
		}
		o.Retryer = retry.AddWithErrorCodes(retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = attempts
			so.MaxBackoff = backoff
		}), retryableCodes...)
		if limiter != nil {
			next := o.HTTPClient
			if next == nil {
				next = awshttp.NewBuildableClient()
			}
			o.HTTPClient = &rateLimitedClient{next: next, limiter: limiter}
		}
		if opts.OnCall != nil {
			o.APIOptions = append(o.APIOptions, addCallHook(opts.OnCall))
		}
	}
}

// rateLimitedClient waits for the limiter before every HTTP attempt, so
// retries count against the rate too.
type rateLimitedClient struct {
	next    iam.HTTPClient
	limiter *rate.Limiter
}

func (c *rateLimitedClient) Do(req *http.Request) (*http.Response, error) {
	if err := c.limiter.Wait(req.Context()); err != nil {
		return nil, err
	}
	return c.next.Do(req)
}

var _ aws.HTTPClient = (*rateLimitedClient)(nil)
