package iamlocal_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

// startRaw serves an endpoint for tests that speak HTTP without the SDK.
func startRaw(t *testing.T, opts iamlocal.Options) (*iamlocal.Server, string) {
	t.Helper()
	srv, err := iamlocal.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts.URL
}

// post sends a form body, signed-looking when signed is set, and returns
// the response body and status.
func post(t *testing.T, base, form string, signed bool) (string, int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signed {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body), resp.StatusCode
}
