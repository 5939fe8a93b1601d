package iamlocal_test

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

// fakeClock is the injected clock of the consistency-delay tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func noRetry(o *iam.Options) { o.RetryMaxAttempts = 1 }

func TestFailNthThroughTheRetryer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fail      []int // FailNth positions of GetRole
		code      string
		wantCode  string // final outcome after the SDK's retries
		wantCalls int
	}{
		{name: "one Throttling is retried", fail: []int{1}, code: "Throttling", wantCalls: 2},
		{name: "two ServiceFailures are retried", fail: []int{1, 2}, code: "ServiceFailure", wantCalls: 3},
		{name: "three ServiceFailures exhaust the 3 attempts", fail: []int{1, 2, 3}, code: "ServiceFailure", wantCode: "ServiceFailure", wantCalls: 3},
		{name: "LimitExceeded is not retried", fail: []int{1}, code: "LimitExceeded", wantCode: "LimitExceeded", wantCalls: 1},
		{name: "the second call fails, not the first", fail: []int{2}, code: "ConcurrentModification", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, iamlocal.Options{})
			ctx := context.Background()
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustEC2)})
			must(t, "CreateRole", err)
			for _, n := range tt.fail {
				srv.FailNth("GetRole", n, tt.code)
			}
			_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")})
			if got := errorCode(t, err); got != tt.wantCode {
				t.Errorf("code = %q, want %q (%v)", got, tt.wantCode, err)
			}
			if got := srv.Calls("GetRole"); got != tt.wantCalls {
				t.Errorf("Calls(GetRole) = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestRandomFaultsAreSeeded(t *testing.T) {
	t.Parallel()
	outcomes := func(seed int64) []string {
		_, c := setup(t, iamlocal.Options{ThrottleRate: 0.3, FailureRate: 0.2, Seed: seed})
		var out []string
		for range 40 {
			_, err := c.ListRoles(context.Background(), &iam.ListRolesInput{}, noRetry)
			out = append(out, errorCode(t, err))
		}
		return out
	}
	a, b := outcomes(7), outcomes(7)
	counts := map[string]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("call %d: %q with one server, %q with the other; the same seed must give the same faults", i, a[i], b[i])
		}
		counts[a[i]]++
	}
	if counts["Throttling"] == 0 || counts["ServiceFailure"] == 0 || counts[""] == 0 {
		t.Errorf("outcomes %v: want some successes, throttles and failures", counts)
	}
}

func TestAlwaysThrottledCallsUseAllAttempts(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, iamlocal.Options{ThrottleRate: 1})
	_, err := c.ListRoles(context.Background(), &iam.ListRolesInput{})
	if code := errorCode(t, err); code != "Throttling" || httpStatus(err) != 400 {
		t.Errorf("code %q status %d, want Throttling 400", code, httpStatus(err))
	}
	if got := srv.Calls("ListRoles"); got != 3 {
		t.Errorf("Calls(ListRoles) = %d, want the SDK's 3 attempts", got)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	const latency = 80 * time.Millisecond
	_, c := setup(t, iamlocal.Options{Latency: latency})
	start := time.Now()
	_, err := c.ListRoles(context.Background(), &iam.ListRolesInput{})
	must(t, "ListRoles", err)
	if took := time.Since(start); took < latency {
		t.Errorf("call took %v, want at least %v", took, latency)
	}
}

func TestCounters(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, iamlocal.Options{})
	ctx := context.Background()
	_, err := c.ListRoles(ctx, &iam.ListRolesInput{})
	must(t, "ListRoles", err)
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("missing")})
	if errorCode(t, err) != "NoSuchEntity" {
		t.Fatalf("GetRole: %v", err)
	}
	if srv.WriteCalls() != 0 {
		t.Errorf("WriteCalls after reads = %d, want 0", srv.WriteCalls())
	}
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustEC2)})
	must(t, "CreateRole", err)
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustEC2)})
	if errorCode(t, err) != "EntityAlreadyExists" {
		t.Fatalf("second CreateRole: %v", err)
	}
	if srv.WriteCalls() != 2 || srv.Calls("CreateRole") != 2 || srv.Calls("GetRole") != 1 {
		t.Errorf("WriteCalls=%d Calls(CreateRole)=%d Calls(GetRole)=%d, want 2 2 1", srv.WriteCalls(), srv.Calls("CreateRole"), srv.Calls("GetRole"))
	}
	if got, want := srv.CallCounts(), map[string]int{"ListRoles": 1, "GetRole": 1, "CreateRole": 2}; !maps.Equal(got, want) {
		t.Errorf("CallCounts = %v, want %v", got, want)
	}
	srv.FailNth("ListRoles", 1, "Throttling")
	srv.ResetCounters()
	_, err = c.ListRoles(ctx, &iam.ListRolesInput{}, noRetry)
	must(t, "ListRoles after ResetCounters (the plan is dropped)", err)
	if srv.WriteCalls() != 0 || srv.Calls("CreateRole") != 0 || srv.Calls("ListRoles") != 1 {
		t.Errorf("after reset WriteCalls=%d Calls(CreateRole)=%d Calls(ListRoles)=%d", srv.WriteCalls(), srv.Calls("CreateRole"), srv.Calls("ListRoles"))
	}
	if got, want := srv.CallCounts(), map[string]int{"ListRoles": 1}; !maps.Equal(got, want) {
		t.Errorf("CallCounts after reset = %v, want %v", got, want)
	}
}

func TestConsistencyDelay(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	_, c := setup(t, iamlocal.Options{ConsistencyDelay: 10 * time.Second, Now: clock.Now})
	ctx := context.Background()
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("fresh"), AssumeRolePolicyDocument: aws.String(trustEC2)})
	must(t, "CreateRole", err)
	_, err = c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("fresh")})
	must(t, "CreateInstanceProfile", err)
	// Writes reach the new entities at once.
	must(t, "PutRolePolicy", putPolicy("fresh", "p", readBucket)(ctx, c))
	_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("fresh"), RoleName: aws.String("fresh")})
	must(t, "AddRoleToInstanceProfile", err)

	reads := []struct {
		name string
		call func() (found bool, err error)
	}{
		{"GetRole", func() (bool, error) {
			_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("fresh")})
			return err == nil, err
		}},
		{"GetRolePolicy", func() (bool, error) {
			_, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("fresh"), PolicyName: aws.String("p")})
			return err == nil, err
		}},
		{"GetInstanceProfile", func() (bool, error) {
			_, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("fresh")})
			return err == nil, err
		}},
		{"ListRoles", func() (bool, error) {
			out, err := c.ListRoles(ctx, &iam.ListRolesInput{})
			return err == nil && len(out.Roles) == 1, err
		}},
		{"ListInstanceProfiles", func() (bool, error) {
			out, err := c.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{})
			return err == nil && len(out.InstanceProfiles) == 1, err
		}},
	}
	for _, step := range []struct {
		advance time.Duration
		visible bool
	}{{0, false}, {9 * time.Second, false}, {time.Second, true}} {
		clock.Advance(step.advance)
		for _, r := range reads {
			found, err := r.call()
			if found != step.visible {
				t.Errorf("%s at +%v: found=%v, want %v (%v)", r.name, step.advance, found, step.visible, err)
			}
			if err != nil && errorCode(t, err) != "NoSuchEntity" {
				t.Errorf("%s while invisible: %v, want NoSuchEntity", r.name, err)
			}
		}
	}
}

// TestConsistencyDelayRoleInProfile: a profile that is visible does not
// show a role younger than the delay, as GetRole does not.
func TestConsistencyDelayRoleInProfile(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	_, c := setup(t, iamlocal.Options{ConsistencyDelay: 10 * time.Second, Now: clock.Now})
	ctx := context.Background()
	_, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("old")})
	must(t, "CreateInstanceProfile", err)
	clock.Advance(10 * time.Second)
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("young"), AssumeRolePolicyDocument: aws.String(trustEC2)})
	must(t, "CreateRole", err)
	_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("old"), RoleName: aws.String("young")})
	must(t, "AddRoleToInstanceProfile", err)
	for _, step := range []struct {
		advance time.Duration
		roles   int
	}{{0, 0}, {10 * time.Second, 1}} {
		clock.Advance(step.advance)
		out, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("old")})
		must(t, "GetInstanceProfile", err)
		if n := len(out.InstanceProfile.Roles); n != step.roles {
			t.Errorf("at +%v the profile shows %d roles, want %d", step.advance, n, step.roles)
		}
	}
}
