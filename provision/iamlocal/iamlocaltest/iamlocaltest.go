// Package iamlocaltest starts IAM endpoints for tests: the local one
// (iamlocal) on an httptest server, or moto_server, and builds real
// aws-sdk-go-v2 IAM and STS clients pointed at them.
package iamlocaltest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

// Region is the region clients sign for; IAM is global, so any would do.
const Region = "us-east-1"

// Start serves a new iamlocal.Server with opts on an httptest server that
// is closed in tb.Cleanup. It returns the server (for faults and counters)
// and its base URL; it fails the test when the options are refused.
func Start(tb testing.TB, opts iamlocal.Options) (*iamlocal.Server, string) {
	tb.Helper()
	srv, err := iamlocal.New(opts)
	if err != nil {
		tb.Fatalf("iamlocal.New: %v", err)
	}
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	return srv, ts.URL
}

// Config returns an aws.Config for a local endpoint: region us-east-1,
// static credentials, and the SDK's standard retryer (3 attempts, the same
// retryable errors) with millisecond back-off and no client-side retry
// quota, so tests that inject faults stay fast and deterministic. Nothing is
// read from the environment or ~/.aws.
func Config() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "local-secret", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.NewExponentialJitterBackoff(20 * time.Millisecond)
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// Client returns a real IAM client for the endpoint at baseURL, configured
// as Config describes. It cannot fail.
func Client(tb testing.TB, baseURL string) *iam.Client {
	tb.Helper()
	return iam.NewFromConfig(Config(), func(o *iam.Options) {
		o.BaseEndpoint = aws.String(baseURL)
	})
}

// STSClient returns a real STS client for the endpoint at baseURL (which
// serves STS beside IAM), configured as Config describes. It cannot fail.
func STSClient(tb testing.TB, baseURL string) *sts.Client {
	tb.Helper()
	return sts.NewFromConfig(Config(), func(o *sts.Options) {
		o.BaseEndpoint = aws.String(baseURL)
	})
}

// SessionClient returns a real IAM client for the endpoint at baseURL that
// signs with the temporary credentials an AssumeRole answered, so its calls
// act in the assumed role's account. It cannot fail.
func SessionClient(tb testing.TB, baseURL string, creds *ststypes.Credentials) *iam.Client {
	tb.Helper()
	cfg := Config()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(creds.AccessKeyId),
		aws.ToString(creds.SecretAccessKey), aws.ToString(creds.SessionToken))
	return iam.NewFromConfig(cfg, func(o *iam.Options) {
		o.BaseEndpoint = aws.String(baseURL)
	})
}
