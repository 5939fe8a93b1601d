package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeSpec(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCmd(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), append([]string{"rolegate"}, args...), getenv, &out, &errOut)
	return out.String(), errOut.String(), err
}

const seedSpec = `{"name":"example-reader","buckets":[{"bucket":"example-bucket","access":"read"}]}`

func TestRender(t *testing.T) {
	t.Parallel()
	spec := writeSpec(t, seedSpec)
	out, _, err := runCmd(t, nil, "render", "--spec", spec)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	for _, want := range []string{"Role:             /rolegate/example-reader", "# Trust policy", `"arn:aws:s3:::example-bucket/*"`, `resource "aws_iam_role" "example-reader"`, "import {"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for part, want := range map[string]string{"policy": `"s3:GetObject"`, "trust-policy": `"ec2.amazonaws.com"`, "terraform": "aws_iam_instance_profile"} {
		out, _, err := runCmd(t, nil, "render", "--spec", spec, "--only", part)
		if err != nil || !strings.Contains(out, want) || strings.Contains(out, "# Trust policy") {
			t.Errorf("--only %s: err %v, output:\n%s", part, err, out)
		}
	}
}

func TestRenderSettingsFromFlagsAndEnv(t *testing.T) {
	t.Parallel()
	spec := writeSpec(t, `{"name":"r","buckets":[{"bucket":"team-a","access":"read"}],"managed_policies":["AmazonSSMManagedInstanceCore"]}`)
	env := map[string]string{"ROLEGATE_NAME_PREFIX": "env-", "ROLEGATE_ALLOWED_MANAGED_POLICIES": "AmazonSSMManagedInstanceCore"}
	out, _, err := runCmd(t, env, "render", "--spec", spec, "--only", "terraform", "--name-prefix", "flag-", "--role-path", "/teams/",
		"--permissions-boundary", "arn:aws:iam::123456789012:policy/b", "--allowed-buckets", "team-*")
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	for _, want := range []string{`name        = "flag-r"`, `path        = "/teams/"`, `permissions_boundary = "arn:aws:iam::123456789012:policy/b"`, "AmazonSSMManagedInstanceCore"} {
		if !strings.Contains(out, want) {
			t.Errorf("terraform lacks %q:\n%s", want, out)
		}
	}
	_, errOut, err := runCmd(t, nil, "render", "--spec", spec, "--allowed-buckets", "other-*")
	if !errors.Is(err, errAlreadyReported) || !strings.Contains(errOut, `buckets[0].bucket: bucket "team-a" is not one you may request`) {
		t.Errorf("guardrail: err %v, stderr %s", err, errOut)
	}
}

func TestRenderInvalidSpec(t *testing.T) {
	t.Parallel()
	spec := writeSpec(t, `{"name":"bad name","buckets":[{"bucket":"Ex","prefix":"/x","access":"all"}]}`)
	out, errOut, err := runCmd(t, nil, "render", "--spec", spec)
	if !errors.Is(err, errAlreadyReported) {
		t.Fatalf("err = %v, want errAlreadyReported (exit 1)", err)
	}
	if out != "" {
		t.Errorf("stdout should be empty, got %s", out)
	}
	for _, want := range []string{"name: role name may contain only", "buckets[0].bucket:", "buckets[0].prefix:", "buckets[0].access:"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if _, _, err := runCmd(t, nil, "render", "--spec", writeSpec(t, `{"nme":"x"}`)); err == nil || !strings.Contains(err.Error(), "not a role spec") {
		t.Errorf("unknown field: err %v", err)
	}
	if _, _, err := runCmd(t, nil, "render", "--spec", writeSpec(t, seedSpec), "--only", "nope"); err == nil {
		t.Error("bad --only accepted")
	}
	if _, _, err := runCmd(t, map[string]string{"ROLEGATE_MAX_SCOPES": "many"}, "render", "--spec", writeSpec(t, seedSpec)); err == nil || !strings.Contains(err.Error(), "--max-scopes") {
		t.Errorf("bad env: err %v", err)
	}
}

func TestRenderHelp(t *testing.T) {
	t.Parallel()
	_, errOut, err := runCmd(t, nil, "render", "--help")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut, "--spec") && !strings.Contains(errOut, "-spec") {
		t.Errorf("help: err %v, output %s", err, errOut)
	}
}

func TestServicePolicy(t *testing.T) {
	t.Parallel()
	out, _, err := runCmd(t, map[string]string{"ROLEGATE_ROLE_PATH": "/teams/"}, "service-policy",
		"--allowed-managed-policies", "AmazonSSMManagedInstanceCore", "--permissions-boundary", "arn:aws:iam::123456789012:policy/b")
	if err != nil {
		t.Fatalf("service-policy: %v", err)
	}
	for _, want := range []string{`"arn:aws:iam::*:role/teams/*"`, `"arn:aws:iam::*:instance-profile/teams/*"`, `"iam:PolicyARN"`, `"iam:PermissionsBoundary"`, `"iam:PassRole"`} {
		if !strings.Contains(out, want) {
			t.Errorf("policy lacks %s:\n%s", want, out)
		}
	}
	if _, _, err := runCmd(t, nil, "service-policy", "--role-path", "nope"); err == nil || !strings.Contains(err.Error(), "--role-path") {
		t.Errorf("bad role path: err %v", err)
	}
}

// Without a database render knows no installation: the tag is left out
// unless --installation names one, as `migrate status` prints it.
func TestRenderInstallation(t *testing.T) {
	t.Parallel()
	spec := writeSpec(t, seedSpec)
	out, _, err := runCmd(t, nil, "render", "--spec", spec, "--only", "terraform")
	if err != nil || strings.Contains(out, "rolegate:installation") {
		t.Fatalf("render without --installation: %v\n%s", err, out)
	}
	id := "0f8f5a2e-3b1c-4d7e-9a6b-2c4d5e6f7a8b"
	out, _, err = runCmd(t, nil, "render", "--spec", spec, "--only", "terraform", "--installation", id)
	if err != nil || strings.Count(out, `"rolegate:installation" = "`+id+`"`) != 2 {
		t.Fatalf("render --installation: %v\n%s", err, out)
	}
	if _, _, err := runCmd(t, nil, "render", "--spec", spec, "--installation", "not{an}id"); err == nil || !strings.Contains(err.Error(), "installation") {
		t.Fatalf("render with an invalid --installation: %v", err)
	}
}
