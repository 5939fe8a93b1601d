package worker_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

const (
	hubID       = "111111111111"
	spokeID     = "222222222222"
	provisioner = "arn:aws:iam::" + spokeID + ":role/rolegate-provisioner"
)

// accountsEnv is a hub-and-spoke world: the local IAM endpoint serving
// two accounts, the spoke's provisioner role bootstrapped through
// OrganizationAccountAccessRole, and a worker whose reconcilers reach the
// spoke by AssumeRole, all over HTTP through the real SDK clients.
type accountsEnv struct {
	*env
	spoke     *iam.Client // acts in the spoke, as its OrganizationAccountAccessRole
	endpoints provision.ReconcilersOptions
}

// world tunes setupAccounts: ExternalID is what rolegate's settings send
// (the spoke's trust always wants "rolegate-prod"); IAM may change the
// reconcilers' options and set the endpoint's clock off now; Worker may
// change the worker's and the store's options.
type world struct {
	ExternalID string
	IAM        func(*provision.ReconcilersOptions, *atomic.Int64)
	Worker     func(*worker.Config, *store.Options)
}

// prodTrusted is the world whose settings send the external ID the spoke
// wants.
var prodTrusted = world{ExternalID: "rolegate-prod"}

// setupAccounts starts the world w.
func setupAccounts(t *testing.T, w world) *accountsEnv {
	t.Helper()
	clock := new(atomic.Int64) // offset of the endpoint's clock from now
	endpoints := provision.ReconcilersOptions{
		Reconciler: provision.ReconcilerOptions{PollMinDelay: 5 * time.Millisecond, PollMaxDelay: 20 * time.Millisecond},
		Client:     provision.ClientOptions{RatePerSecond: -1, MaxAttempts: 2, MaxBackoff: 10 * time.Millisecond},
	}
	if w.IAM != nil {
		w.IAM(&endpoints, clock)
	}
	srv, url := iamlocaltest.Start(t, iamlocal.Options{Accounts: []string{hubID, spokeID},
		Now: func() time.Time { return time.Now().Add(time.Duration(clock.Load())) }})
	endpoints.IAM = []func(*iam.Options){func(o *iam.Options) { o.BaseEndpoint = aws.String(url) }}
	endpoints.STS = []func(*sts.Options){func(o *sts.Options) { o.BaseEndpoint = aws.String(url) }}
	prod := provision.Account{Name: "prod", ID: spokeID, RoleARN: provisioner, ExternalID: w.ExternalID}
	bootstrap := provision.DefaultSettings()
	bootstrap.Accounts = []provision.Account{{Name: "dev", ID: hubID}, {Name: "prod", ID: spokeID, RoleARN: provisioner}}
	spoke, err := provision.NewSpokeRole(bootstrap, "prod", "arn:aws:iam::"+hubID+":root", "rolegate-prod")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provision.BootstrapSpoke(context.Background(), iamlocaltest.Config(), spoke, endpoints); err != nil {
		t.Fatal(err)
	}
	set := provision.DefaultSettings()
	set.Accounts = []provision.Account{{Name: "dev", ID: hubID}, prod}
	e := &env{t: t, iam: srv, api: iamlocaltest.Client(t, url), url: url}
	e.cfg = worker.Config{Settings: set, Reconcilers: provision.NewReconcilers(iamlocaltest.Config(), set, endpoints),
		RetryBase: 10 * time.Millisecond, MaxAttempts: 3, FetchPollInterval: 100 * time.Millisecond}
	if w.Worker != nil {
		w.Worker(&e.cfg, &e.opts)
	}
	e.opts.Settings, e.opts.JobAttempts = &e.cfg.Settings, e.cfg.MaxAttempts
	e.db = storetest.Open(t, storetest.URL(t), e.opts)
	e.start()
	creds, err := iamlocaltest.STSClient(t, url).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + spokeID + ":role/" + provision.OrganizationAccessRole), RoleSessionName: aws.String("test")})
	if err != nil {
		t.Fatal(err)
	}
	return &accountsEnv{env: e, spoke: iamlocaltest.SessionClient(t, url, creds.Credentials), endpoints: endpoints}
}

// submitIn files and approves a request for role name in account.
func (e *accountsEnv) submitIn(account, name string) store.Request {
	return e.submitUntil(account, name, nil)
}

// submitUntil is submitIn with an expiry.
func (e *accountsEnv) submitUntil(account, name string, expires *time.Time) store.Request {
	e.t.Helper()
	r, err := e.db.CreateRequest(context.Background(), store.NewRequest{
		Spec: provision.RoleSpec{Name: name, Account: account, ExpiresAt: expires,
			Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}},
		Justification: "tests need it", Requester: alice.Name,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.approve(r.Request)
	return r.Request
}

// activeInBoth files and approves a request for role name in dev and one
// in prod, and returns both once active.
func (e *accountsEnv) activeInBoth(name string) (dev, prod store.Request) {
	e.t.Helper()
	dev, prod = e.submitIn("dev", name), e.submitIn("prod", name)
	return e.await(dev.ID, store.StatusActive), e.await(prod.ID, store.StatusActive)
}

func roleIn(t *testing.T, c *iam.Client, name string) bool {
	t.Helper()
	_, err := c.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(name)})
	return err == nil
}

// Requests into two accounts become active with their resources only in
// their own account, under the same role name, and ARNs in that account.
func TestRequestsIntoTwoAccounts(t *testing.T) {
	t.Parallel()
	e := setupAccounts(t, prodTrusted)
	dev, prod := e.activeInBoth("reader")
	if dev.RoleARN != "arn:aws:iam::"+hubID+":role/rolegate/reader" || prod.RoleARN != "arn:aws:iam::"+spokeID+":role/rolegate/reader" {
		t.Fatalf("ARNs: dev %s, prod %s", dev.RoleARN, prod.RoleARN)
	}
	for _, c := range []*iam.Client{e.api, e.spoke} {
		tags, err := c.ListRoleTags(context.Background(), &iam.ListRoleTagsInput{RoleName: aws.String("reader")})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint(dev.ID)
		if c == e.spoke {
			want = fmt.Sprint(prod.ID)
		}
		if got := tagValue(tags.Tags, provision.TagRequestID); got != want {
			t.Errorf("role reader carries request %q, want the request of its own account (%s)", got, want)
		}
	}
	if n := e.iam.Calls("AssumeRole"); n < 1 {
		t.Errorf("the worker never assumed the provisioner role (%d AssumeRole calls)", n)
	}
}

// A role of the spoke that rolegate did not create is refused there, while
// the same name is free in the hub.
func TestForeignRoleRefusedPerAccount(t *testing.T) {
	t.Parallel()
	e := setupAccounts(t, prodTrusted)
	if _, err := e.spoke.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("taken"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	prod, dev := e.submitIn("prod", "taken"), e.submitIn("dev", "taken")
	failed := e.await(prod.ID, store.StatusFailed)
	if !strings.Contains(failed.StatusReason, provision.CodeForeignEntity) {
		t.Errorf("prod request failed with %q, want the foreign entity named", failed.StatusReason)
	}
	e.await(dev.ID, store.StatusActive)
	if !roleIn(t, e.api, "taken") {
		t.Error("the hub's role was not created")
	}
}

// A spoke whose trust policy wants an external ID rolegate does not send
// fails the request at once, naming the account and the role.
func TestSpokeRefusingRolegateFailsWithTheAccountNamed(t *testing.T) {
	t.Parallel()
	e := setupAccounts(t, world{})
	r := e.submitIn("prod", "refused")
	failed := e.await(r.ID, store.StatusFailed)
	for _, want := range []string{"account prod (" + spokeID + ") refuses rolegate", provisioner, "AccessDenied"} {
		if !strings.Contains(failed.StatusReason, want) {
			t.Errorf("reason %q lacks %q", failed.StatusReason, want)
		}
	}
	if strings.Contains(failed.StatusReason, "gave up after") {
		t.Errorf("a refused AssumeRole was retried: %q", failed.StatusReason)
	}
}

// Drift is found and repaired in the account it happened in; revoking
// removes the role from its own account only.
func TestDriftAndRevokePerAccount(t *testing.T) {
	t.Parallel()
	e := setupAccounts(t, prodTrusted)
	_, prod := e.activeInBoth("same")
	ctx := context.Background()
	if _, err := e.spoke.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("same"), PolicyName: aws.String(provision.InlinePolicyName),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	found, err := worker.CheckDrift(ctx, e.db, e.cfg.Reconcilers, e.cfg.Settings, true)
	if err != nil || len(found) != 1 || found[0].RequestID != prod.ID || !found[0].Repaired {
		t.Fatalf("CheckDrift = %+v, %v; want prod's role found and repaired", found, err)
	}
	if again, err := worker.CheckDrift(ctx, e.db, e.cfg.Reconcilers, e.cfg.Settings, false); err != nil || len(again) != 0 {
		t.Fatalf("after repair: %+v, %v", again, err)
	}
	if _, err := e.db.Revoke(ctx, carol, prod.ID); err != nil {
		t.Fatal(err)
	}
	e.await(prod.ID, store.StatusRevoked)
	if roleIn(t, e.spoke, "same") || !roleIn(t, e.api, "same") {
		t.Fatal("revoking prod's role did not remove exactly prod's role")
	}
}

// A spoke that stops admitting rolegate fails the drift check for its
// account only: the hub's roles are still checked and repaired.
func TestDriftGoesOnPastARefusingAccount(t *testing.T) {
	t.Parallel()
	e := setupAccounts(t, prodTrusted)
	dev, _ := e.activeInBoth("kept")
	ctx := context.Background()
	if _, err := e.spoke.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("rolegate-provisioner"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + spokeID + `:root"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("kept"), PolicyName: aws.String(provision.InlinePolicyName)}); err != nil {
		t.Fatal(err)
	}
	fresh := provision.NewReconcilers(iamlocaltest.Config(), e.cfg.Settings, e.endpoints) // no credentials cached
	found, err := worker.CheckDrift(ctx, e.db, fresh, e.cfg.Settings, true)
	if err == nil || !strings.Contains(err.Error(), "account prod (") {
		t.Errorf("CheckDrift error = %v, want prod's refusal", err)
	}
	if len(found) != 1 || found[0].RequestID != dev.ID || found[0].Account != "dev" || !found[0].Repaired {
		t.Fatalf("CheckDrift found %+v, want the hub's role repaired", found)
	}
}

// rolegate refuses to act when its own credentials are not the hub's.
func TestCheckHubRefusesCredentialsOfAnotherAccount(t *testing.T) {
	t.Parallel()
	e := setupAccounts(t, prodTrusted)
	ctx := context.Background()
	if err := e.cfg.Reconcilers.CheckHub(ctx); err != nil {
		t.Fatalf("CheckHub with the hub's credentials: %v", err)
	}
	wrong := e.cfg.Settings
	wrong.Accounts = append([]provision.Account{{Name: "dev", ID: "333333333333"}}, wrong.Accounts[1:]...)
	err := provision.NewReconcilers(iamlocaltest.Config(), wrong, e.endpoints).CheckHub(ctx)
	if err == nil || !strings.Contains(err.Error(), "act in account "+hubID) || !strings.Contains(err.Error(), "dev (333333333333)") {
		t.Fatalf("CheckHub with another account's credentials: %v", err)
	}
}

// An expired role is removed from its own account, through the spoke's
// provisioner role.
func TestExpiryPerAccount(t *testing.T) {
	t.Parallel()
	clk := storetest.NewClock(time.Now().UTC())
	e := setupAccounts(t, world{ExternalID: "rolegate-prod", Worker: func(c *worker.Config, o *store.Options) {
		o.Now = clk.Now
		c.ExpiryInterval = 100 * time.Millisecond
	}})
	expires := clk.Now().Add(time.Hour)
	r, kept := e.submitUntil("prod", "brief", &expires), e.submitIn("dev", "brief")
	e.await(r.ID, store.StatusActive)
	e.await(kept.ID, store.StatusActive)
	clk.Advance(2 * time.Hour)
	e.await(r.ID, store.StatusExpired)
	if roleIn(t, e.spoke, "brief") || !roleIn(t, e.api, "brief") {
		t.Fatal("expiry did not remove exactly prod's role")
	}
}

// Assumed credentials are replaced before they expire during a long run:
// the endpoint hands out credentials that lapse within seconds (its clock
// set back), and every call of a run longer than that still succeeds.
func TestAssumedCredentialsRefreshDuringALongRun(t *testing.T) {
	t.Parallel()
	e := setupAccounts(t, world{ExternalID: "rolegate-prod", IAM: func(o *provision.ReconcilersOptions, clock *atomic.Int64) {
		o.SessionDuration = 15 * time.Minute
		o.ExpiryWindow = time.Second
		clock.Store(int64(-15*time.Minute + 2*time.Second)) // sessions end 2s from now
	}})
	rec, err := e.cfg.Reconcilers.For("prod", "rolegate-long-run")
	if err != nil {
		t.Fatal(err)
	}
	set, _, _ := e.cfg.Settings.In("prod")
	plan, err := provision.NewPlan(provision.RoleSpec{Name: "long", Account: "prod",
		Buckets: []provision.BucketScope{{Bucket: "example-bucket", Access: provision.AccessRead}}}, set, provision.PlanMeta{RequestID: "long-run"})
	if err != nil {
		t.Fatal(err)
	}
	start := e.iam.Calls("AssumeRole")
	eventually(t, func() (bool, string) {
		if _, err := rec.Apply(context.Background(), plan); err != nil {
			t.Fatalf("apply during the run: %v", err)
		}
		n := e.iam.Calls("AssumeRole") - start
		return n >= 3, fmt.Sprintf("%d AssumeRole calls, want the credentials renewed at least twice", n)
	})
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}
