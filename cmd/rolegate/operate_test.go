package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_IAM": iamURL, "AWS_ACCESS_KEY_ID": "local",
		"AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull} {
		t.Setenv(k, v)
	}
	dbURL := storetest.EmptyURL(t)
	startServe(t, dbURL)
	db := storetest.Open(t, dbURL, store.Options{})
	ctx := context.Background()
	r, err := db.CreateRequest(ctx, store.NewRequest{Requester: "alice", Justification: "nightly export",
		Spec: provision.RoleSpec{Name: "exporter", Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Decide(ctx, store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}, r.ID, 1, store.Decision{Approve: true}); err != nil {
		t.Fatal(err)
	}
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
