package iamlocal_test

import (
	"errors"
	"net/url"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

// trustEC2 is the trust policy of an EC2 instance role, with spaces and
// punctuation that must survive percent-encoding.
const trustEC2 = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}`

const readBucket = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::my-bucket/a b+c/*"}]}`

// setup starts an in-memory endpoint with opts and returns it with a client.
func setup(t *testing.T, opts iamlocal.Options) (*iamlocal.Server, *iam.Client) {
	t.Helper()
	srv, base := iamlocaltest.Start(t, opts)
	return srv, iamlocaltest.Client(t, base)
}

// errorCode returns the IAM error code of err, "" for nil, and fails the
// test when err carries no API error.
func errorCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("not an API error: %v", err)
	}
	return apiErr.ErrorCode()
}

// httpStatus returns the HTTP status behind err, 0 when there is none.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// decode undoes IAM's percent-encoding of a policy document.
func decode(t *testing.T, doc *string) string {
	t.Helper()
	if doc == nil {
		t.Fatal("policy document missing")
	}
	s, err := url.QueryUnescape(*doc)
	if err != nil {
		t.Fatalf("policy document not percent-encoded: %v", err)
	}
	return s
}

// must fails the test on a non-nil error, naming the step.
func must(t *testing.T, step string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}
