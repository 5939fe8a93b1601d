package iamlocal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

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
	resp, body := iamlocaltest.Send(t, http.DefaultClient, req)
	return string(body), resp.StatusCode
}
