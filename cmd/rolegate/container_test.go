package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// awsSDKVariables are the variables of the AWS SDK's own chain that
// compose.yaml may set for rolegate: rolegate reads none of them itself.
var awsSDKVariables = []string{"AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_PROFILE"}

// compose.yaml and the Dockerfile run the binary as it is: every variable
// they set is one `rolegate serve` reads (or the AWS SDK's), the image
// runs as a non-root user, and compose gives rolegate time to stop as
// README says it does (in-flight requests, then running jobs, each up to
// the shutdown timeout) before it kills it: Docker's default of 10s cut
// the jobs' share off, leaving a provisioning to be rescued twenty
// minutes later.
func TestComposeAndDockerfileMatchTheBinary(t *testing.T) {
	t.Parallel()
	_, usage, err := runCmd(t, nil, "serve", "--help")
	if err != nil && !strings.Contains(err.Error(), "help requested") {
		t.Fatalf("serve --help: %v", err)
	}
	reads := func(name string) bool {
		for _, v := range awsSDKVariables {
			if v == name {
				return true
			}
		}
		return strings.Contains(usage, "["+name+"]") || strings.Contains(usage, "["+name+"=")
	}

	raw, err := os.ReadFile("../../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Command         []string          `yaml:"command"`
			Environment     map[string]string `yaml:"environment"`
			StopGracePeriod string            `yaml:"stop_grace_period"`
			StopSignal      string            `yaml:"stop_signal"`
			Healthcheck     map[string]any    `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	svc, ok := compose.Services["rolegate"]
	if !ok {
		t.Fatal("compose.yaml has no rolegate service")
	}
	for name := range svc.Environment {
		if !reads(name) {
			t.Errorf("compose.yaml sets %s for rolegate, which neither rolegate serve nor the AWS SDK reads", name)
		}
	}
	grace, err := time.ParseDuration(svc.StopGracePeriod)
	if err != nil {
		t.Errorf("compose.yaml's rolegate service has no stop_grace_period (%q): Docker kills it 10s after SIGTERM", svc.StopGracePeriod)
	} else if want := 2*15*time.Second + 5*time.Second; grace < want {
		t.Errorf("compose.yaml's stop_grace_period %s is shorter than twice the shutdown timeout with room to close: want at least %s", grace, want)
	}
	if svc.StopSignal != "" && svc.StopSignal != "SIGTERM" && svc.StopSignal != "SIGINT" {
		t.Errorf("compose.yaml stops rolegate with %s; it stops gracefully on SIGTERM or SIGINT", svc.StopSignal)
	}
	if svc.Healthcheck == nil && regexp.MustCompile(`(?i)rolegate service is healthy`).Match(raw) {
		t.Error("compose.yaml speaks of the rolegate service being healthy, but defines no health check for it")
	}

	docker, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*(?:ENV\s+)?([A-Z][A-Z0-9_]*)=\S+\s*\\?$`).FindAllSubmatch(docker, -1) {
		if name := string(m[1]); !reads(name) {
			t.Errorf("the Dockerfile sets %s, which rolegate serve does not read", name)
		}
	}
	users := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllSubmatch(docker, -1)
	if len(users) == 0 || strings.HasPrefix(string(users[len(users)-1][1]), "root") || strings.HasPrefix(string(users[len(users)-1][1]), "0") {
		t.Errorf("the image does not run as a non-root user: USER lines %q", users)
	}
}
