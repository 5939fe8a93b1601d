package provision

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

func TestIsRetryable(t *testing.T) {
	t.Parallel()
	api := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{api("Throttling"), true},
		{api("ServiceFailure"), true},
		{api("ConcurrentModification"), true},
		{fmt.Errorf("wrapped: %w", api("Throttling")), true},
		{api("MalformedPolicyDocument"), false},
		{api("LimitExceeded"), false},
		{api("InvalidInput"), false},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{context.DeadlineExceeded, true},
		{context.Canceled, false},
		{&PermanentError{Code: CodeForeignEntity}, false},
	} {
		if got := IsRetryable(tt.err); got != tt.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	perm := classify("PutRolePolicy", api("MalformedPolicyDocument"))
	if !IsPermanent(perm) || !strings.Contains(perm.Error(), "iam PutRolePolicy: MalformedPolicyDocument: m") {
		t.Errorf("classify = %v", perm)
	}
	if IsPermanent(classify("CreateRole", api("Throttling"))) {
		t.Error("throttling classified permanent")
	}
}

func TestIsCredentialFailure(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{"InvalidClientTokenId": true, "ExpiredToken": true, "SignatureDoesNotMatch": true,
		"UnrecognizedClientException": true, "RegionDisabledException": true,
		"AccessDenied": false, "AccessDeniedException": false, "UnauthorizedOperation": false,
		"NoSuchEntity": false, "LimitExceeded": false, "Throttling": false, "": false, "expiredtoken": false} {
		if got := IsCredentialFailure(code); got != want {
			t.Errorf("IsCredentialFailure(%q) = %t, want %t", code, got, want)
		}
	}
}

func TestPoliciesEqual(t *testing.T) {
	t.Parallel()
	a := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::b/*"},{"Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:aws:s3:::b"]}]}`
	b := `{"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"},"Version":"2012-10-17"}`
	c := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"},{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}`
	if eq, err := policiesEqual(a, c); !eq || err != nil {
		t.Errorf("a and c should be equal (%v)", err)
	}
	if eq, _ := policiesEqual(a, b); eq {
		t.Error("a and b differ")
	}
	if _, err := policiesEqual("nope", a); err == nil {
		t.Error("invalid JSON accepted")
	}
	enc := "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%2C%22x%22%3A%22a%2Bb%20c%22%7D"
	if got, err := decodePolicyDocument(enc); err != nil || got != `{"Version":"2012-10-17","Statement":[],"x":"a+b c"}` {
		t.Errorf("decode = %q, %v", got, err)
	}
}

func TestTerraformLabel(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, name := range []string{"reader", "team.reader", "team_reader", "team@reader", "9lives", "Reader", "a+b=c,d"} {
		l := TerraformLabel(name)
		if l != TerraformLabel(name) {
			t.Errorf("label of %q not stable", name)
		}
		if prev, dup := seen[l]; dup {
			t.Errorf("%q and %q share label %q", prev, name, l)
		}
		seen[l] = name
		if !(l[0] == '_' || (l[0] >= 'a' && l[0] <= 'z') || (l[0] >= 'A' && l[0] <= 'Z')) || strings.ContainsAny(l, ".@+=,") {
			t.Errorf("label %q of %q is not an identifier", l, name)
		}
	}
	if TerraformLabel("reader") != "reader" {
		t.Error("a valid identifier should be kept as is")
	}
}

// TestTerraformLabelOfALabelLookingName: a role may be named exactly like
// another role's hashed label ("audit_target_5f8d853a" beside
// "audit.target"); both used to get that label, so an exported module
// declared the same resource twice.
func TestTerraformLabelOfALabelLookingName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"audit.target", "team@reader", "9lives", "a+b=c,d"} {
		hashed := TerraformLabel(name)
		if got := TerraformLabel(hashed); got == hashed {
			t.Errorf("role %q and role %q share label %q", name, hashed, got)
		}
	}
	for _, name := range []string{"reader", "x_1234567", "x_1234567z", "x_ABCDEF12", "deadbeef"} {
		if got := TerraformLabel(name); got != name {
			t.Errorf("label of %q = %q, want it kept", name, got)
		}
	}
}

func TestServicePolicyScopes(t *testing.T) {
	t.Parallel()
	set := DefaultSettings()
	set.AllowedManagedPolicies = []string{"AmazonSSMManagedInstanceCore"}
	doc := ServicePolicy(set)
	for _, want := range []string{`"arn:aws:iam::*:role/rolegate/*"`, `"arn:aws:iam::*:instance-profile/rolegate/*"`,
		`"iam:PolicyARN":["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]`, `"aws:RequestTag/managed-by":["rolegate"]`, "iam:DeleteRolePermissionsBoundary"} {
		if !strings.Contains(doc, want) {
			t.Errorf("service policy lacks %s:\n%s", want, doc)
		}
	}
	bulk := `{"Sid":"ReadRolesInBulk","Effect":"Allow","Action":["iam:GetAccountAuthorizationDetails","iam:ListRoles"],"Resource":["*"]}`
	if !strings.Contains(doc, bulk) {
		t.Errorf("service policy lacks the drift check's bulk reads %s:\n%s", bulk, doc)
	}
	if rest := strings.Replace(doc, bulk, "", 1); strings.Contains(rest, `"Resource":["*"]`) || strings.Contains(doc, `"iam:*"`) {
		t.Errorf("service policy is too broad:\n%s", doc)
	}
	set.PermissionsBoundaryARN = "arn:aws:iam::123456789012:policy/b"
	set.AccountID = "123456789012"
	doc = ServicePolicy(set)
	if strings.Contains(doc, "iam:DeleteRolePermissionsBoundary") || !strings.Contains(doc, `"iam:PermissionsBoundary":["arn:aws:iam::123456789012:policy/b"]`) ||
		!strings.Contains(doc, "arn:aws:iam::123456789012:role/rolegate/*") {
		t.Errorf("with a boundary:\n%s", doc)
	}
	if n := iamPolicySize(doc); n > 6144 {
		t.Errorf("service policy has %d characters, more than a managed policy may", n)
	}
}
