package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// TestServeProvisionsExportsAndDetectsDrift runs the real `serve` (with its
// worker) against a local IAM endpoint reached through the SDK's standard
// AWS_ENDPOINT_URL_IAM, then the operator commands. Not parallel: the AWS
// SDK reads its settings from the process environment.
func TestServeProvisionsExportsAndDetectsDrift(t *testing.T) {
	_, iamURL := iamlocaltest.Start(t, iamlocal.Options{})
	useAWS(t, iamURL)
	dbURL := storetest.EmptyURL(t)
	startServe(t, dbURL)
	db := storetest.Open(t, dbURL, store.Options{})
	ctx := context.Background()
	r := approveRole(t, db, "exporter")
	waitUntil(t, "the request is active", func() bool {
		got, err := db.GetRequest(ctx, r.ID)
		return err == nil && got.Status == store.StatusActive
	})

	env := func(k string) string { return map[string]string{"DATABASE_URL": dbURL}[k] }
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(ctx, []string{"rolegate", "export-terraform", "--dir", dir}, env, &out, &out); err != nil {
		t.Fatalf("export-terraform: %v\n%s", err, out.String())
	}
	tf, err := os.ReadFile(filepath.Join(dir, roleFileName(r.ID, "exporter")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`resource "aws_iam_role" "exporter"`, "import {", `resource "aws_iam_instance_profile"`} {
		if !strings.Contains(string(tf), want) {
			t.Errorf("exported Terraform lacks %s", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "versions.tf")); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	if err := run(ctx, []string{"rolegate", "drift", "--fail-on-drift"}, env, &out, &out); err != nil {
		t.Fatalf("drift on a clean role: %v\n%s", err, out.String())
	}
	client := iamlocaltest.Client(t, iamURL)
	if _, err := client.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("exporter"), MaxSessionDuration: aws.Int32(7200)}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = run(ctx, []string{"rolegate", "drift", "--fail-on-drift"}, env, &out, &out)
	var exit errExitCode
	if !errors.As(err, &exit) || exit.code != 2 || !strings.Contains(out.String(), "exporter: drifted") {
		t.Fatalf("drift after a manual change: err %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"rolegate", "drift", "--repair"}, env, &out, &out); err != nil || !strings.Contains(out.String(), "repaired") {
		t.Fatalf("drift --repair: %v\n%s", err, out.String())
	}
	role, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("exporter")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(role.Role.MaxSessionDuration) != 3600 {
		t.Fatalf("max session after repair = %d", aws.ToInt32(role.Role.MaxSessionDuration))
	}
}

// `rolegate drift` gives up after --timeout, saying so, when IAM never
// answers: it waited for ever. Not parallel: the AWS SDK reads its
// settings from the process environment.
func TestDriftGivesUpAfterItsTimeout(t *testing.T) {
	// An endpoint that takes every call and answers none until the
	// caller gives up.
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(release) })
	useAWS(t, stuck.URL)
	dbURL := storetest.URL(t)
	db := storetest.Open(t, dbURL, store.Options{})
	r := approveRole(t, db, "checked")
	storetest.Provision(t, db, r.ID, r.Version)

	// The test's own deadline only stops a drift that does not stop itself.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := func(k string) string { return map[string]string{"DATABASE_URL": dbURL}[k] }
	var out bytes.Buffer
	err := run(ctx, []string{"rolegate", "drift", "--repair", "--timeout", "200ms"}, env, &out, &out)
	if ctx.Err() != nil {
		t.Fatalf("drift ran on past its --timeout 200ms: %v\n%s", err, out.String())
	}
	if err == nil || !strings.Contains(err.Error(), "stopped after --timeout 200ms") {
		t.Fatalf("drift --timeout 200ms against an endpoint that never answers: %v, want the timeout named\n%s", err, out.String())
	}
}

// useAWS points the AWS SDK of this process at endpoint for IAM and STS,
// with local credentials and no configuration from the machine, for the
// rest of the test, which must not be parallel.
func useAWS(t *testing.T, endpoint string) {
	t.Helper()
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_IAM": endpoint, "AWS_ENDPOINT_URL_STS": endpoint,
		"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull} {
		t.Setenv(k, v)
	}
}

// approveRole stores alice's request for a role called name reading one
// bucket, approved by bob, and returns it.
func approveRole(t *testing.T, db *store.DB, name string) store.Created {
	t.Helper()
	ctx := context.Background()
	r, err := db.CreateRequest(ctx, store.NewRequest{Requester: "alice", Justification: "a role for the operator commands",
		Spec: provision.RoleSpec{Name: name, Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Decide(ctx, store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}, r.ID, 1, store.Decision{Approve: true}); err != nil {
		t.Fatal(err)
	}
	return r
}
