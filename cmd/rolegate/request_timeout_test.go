package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// --request-timeout reaches the server: a decision waiting on a row lock
// answers 503 timeout with Retry-After once it has passed, rather than
// waiting for the lock.
func TestRequestTimeoutSetting(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	base, _, _, logs := startServe(t, dbURL, "--no-worker", "--request-timeout", "300ms")
	admin := storetest.Open(t, dbURL, store.Options{MaxConns: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := admin.CreateRequest(ctx, store.NewRequest{Requester: "alice", Justification: "reports",
		Spec: provision.RoleSpec{Name: "locked", Description: "reads", Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := admin.CreateToken(ctx, store.NewToken{User: "bob", Roles: []store.Role{store.RoleApprover}, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	lock, err := admin.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // the test's end
	if _, err := lock.Exec(ctx, `SELECT id FROM requests WHERE id = $1 FOR UPDATE`, r.Request.ID); err != nil {
		t.Fatal(err)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/api/v1/requests/%d/approve", base, r.Request.ID), strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("the decision waited for the lock: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var p struct{ Type string }
	if err := json.Unmarshal(body, &p); err != nil || res.StatusCode != http.StatusServiceUnavailable ||
		p.Type != "https://rolegate.dev/problems/timeout" || res.Header.Get("Retry-After") != "5" {
		t.Fatalf("decision behind a row lock: %d %s (Retry-After %q)\n%s", res.StatusCode, body, res.Header.Get("Retry-After"), logs)
	}
}
