package iamlocal_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

func TestWire(t *testing.T) {
	t.Parallel()
	createForm := url.Values{
		"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {"wire"},
		"AssumeRolePolicyDocument": {trustEC2},
	}.Encode()
	tests := []struct {
		name       string
		form       string
		signed     bool
		wantStatus int
		want       []string // substrings of the body
		notWant    []string
	}{
		{name: "unsigned request", form: createForm, signed: false, wantStatus: 403,
			want: []string{"<Code>MissingAuthenticationToken</Code>", "<Type>Sender</Type>"}},
		{name: "unknown action", form: "Action=CreateUser&Version=2010-05-08&UserName=x", signed: true, wantStatus: 400,
			want: []string{"<Code>InvalidAction</Code>", `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">`}},
		{name: "no action", form: "Version=2010-05-08", signed: true, wantStatus: 400,
			want: []string{"<Code>InvalidAction</Code>"}},
		{name: "body over the limit", form: createForm + "&Description=" + strings.Repeat("x", 4096), signed: true, wantStatus: 413,
			want: []string{"<Code>RequestEntityTooLarge</Code>"}},
		{name: "create answers in the IAM namespace with the trust policy percent-encoded", form: createForm, signed: true, wantStatus: 200,
			want: []string{`<CreateRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">`, "<CreateRoleResult><Role>",
				"%7B%22Version%22%3A%20%222012-10-17%22", "<ResponseMetadata><RequestId>"},
			notWant: []string{"+", "<PermissionsBoundary>"}},
		{name: "an action without output sends only metadata", form: "Action=TagRole&Version=2010-05-08&RoleName=wire&Tags.member.1.Key=k&Tags.member.1.Value=v",
			signed: true, wantStatus: 200, want: []string{"<TagRoleResponse", "<ResponseMetadata>"}, notWant: []string{"TagRoleResult"}},
		{name: "UpdateRole sends an empty result, as the SDK expects", form: "Action=UpdateRole&Version=2010-05-08&RoleName=wire&Description=d",
			signed: true, wantStatus: 200, want: []string{"<UpdateRoleResult></UpdateRoleResult>"}},
		{name: "errors carry code, type and message", form: "Action=GetRole&Version=2010-05-08&RoleName=ghost", signed: true, wantStatus: 404,
			want: []string{"<Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name ghost cannot be found.</Message>"}},
	}
	_, base := iamlocaltest.Start(t, iamlocal.Options{MaxBodyBytes: 2048})
	// The order matters only for the create before the later steps, so the
	// cases run one after another on one server.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, status := post(t, base, tt.form, tt.signed)
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", status, tt.wantStatus, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q: %s", w, body)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("body has %q: %s", w, body)
				}
			}
		})
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts iamlocal.Options
	}{
		{"short account", iamlocal.Options{AccountID: "123"}},
		{"rate above 1", iamlocal.Options{ThrottleRate: 0.7, FailureRate: 0.5}},
		{"negative latency", iamlocal.Options{Latency: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := iamlocal.New(tt.opts); err == nil {
				t.Errorf("New(%+v) = nil error", tt.opts)
			}
		})
	}
}
