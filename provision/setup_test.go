package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go/middleware"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

// testTime is the fixed approval time of test plans.
var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testSettings() Settings {
	set := DefaultSettings()
	set.AllowedManagedPolicies = []string{"AmazonSSMManagedInstanceCore", "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"}
	set.Tags = map[string]string{"team": "data", "cost-center": "42"}
	// As the worker's: its plans carry their database's installation ID.
	set.Installation = testInstallation
	return set
}

// testInstallation is the installation ID of testSettings, as a database
// draws one.
const testInstallation = "5b1e3c2a-8d4f-4e6a-9c7b-1a2b3c4d5e6f"

func testMeta(id string) PlanMeta {
	return PlanMeta{RequestID: id, Requester: "alice@example.com", Approvers: []string{"bob@example.com", "carol@example.com"}, Time: testTime}
}

// mustPlan builds a plan or fails the test.
func mustPlan(tb testing.TB, spec RoleSpec, set Settings, meta PlanMeta) Plan {
	tb.Helper()
	p, err := NewPlan(spec, set, meta)
	if err != nil {
		tb.Fatalf("NewPlan: %v", err)
	}
	return p
}

// uniqueName gives each test its own role name, so tests can share one
// moto server.
func uniqueName(tb testing.TB) string {
	return "rg-" + shortHash(tb.Name())
}

// env is one IAM backend as a scenario sees it.
type env struct {
	name   string
	url    string
	srv    *iamlocal.Server // nil for moto
	faults *faultInjector
	client *iam.Client // through NewIAMClient, with faults and crashes
	admin  *iam.Client // plain client for arranging and inspecting state
	crash  *crashSwitch
	// managed is a managed policy ARN the backend knows: an AWS managed
	// one on iamlocal; moto loads none by default, so there a customer
	// managed policy created for the tests.
	managed string
}

// settings are testSettings with the backend's managed policy allowed.
func (e *env) settings() Settings {
	set := testSettings()
	set.AllowedManagedPolicies = append(set.AllowedManagedPolicies, e.managed)
	return set
}

// newEnv builds clients for the endpoint at url.
func newEnv(tb testing.TB, name, url string, srv *iamlocal.Server) *env {
	tb.Helper()
	faults, proxyURL := newFaultInjector(tb, url)
	e := &env{name: name, url: url, srv: srv, faults: faults, crash: &crashSwitch{}}
	e.crash.set(-1)
	ctx := context.Background()
	c, err := NewIAMClient(ctx, ClientOptions{RatePerSecond: 500, Burst: 50, MaxAttempts: 4, MaxBackoff: 5 * time.Millisecond},
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "test-secret", "")),
		config.WithBaseEndpoint(proxyURL),
		config.WithAPIOptions([]func(*middleware.Stack) error{e.crash.install}),
	)
	if err != nil {
		tb.Fatalf("NewIAMClient: %v", err)
	}
	e.client = c
	e.admin = iamlocaltest.Client(tb, url)
	return e
}

func (e *env) reconciler() *Reconciler {
	return NewReconciler(e.client, ReconcilerOptions{VisibilityTimeout: 10 * time.Second, PollMinDelay: 10 * time.Millisecond, PollMaxDelay: 50 * time.Millisecond})
}

// crashSwitch makes the client fail every write call after the first n,
// as if the process died there; n < 0 means never.
type crashSwitch struct {
	after  atomic.Int64
	writes atomic.Int64
}

var errCrash = errors.New("simulated crash")

func (c *crashSwitch) set(n int) { c.writes.Store(0); c.after.Store(int64(n)) }

func (c *crashSwitch) install(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("testCrash", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		op := middleware.GetOperationName(ctx)
		if !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "List") {
			if n := c.after.Load(); n >= 0 && c.writes.Add(1) > n {
				return middleware.InitializeOutput{}, middleware.Metadata{}, errCrash
			}
		}
		return next.HandleInitialize(ctx, in)
	}), middleware.Before)
}

// faultInjector is an HTTP proxy in front of the IAM endpoint that
// answers chosen actions with canned IAM error responses (throttling, 5xx,
// permanent errors) before they reach it, the same way for iamlocal and
// moto.
type faultInjector struct {
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	plan  map[string][]int // action -> HTTP statuses to answer with, in order
	code  map[string][]string
	lose  map[string]int // action -> how many of its next answers to lose
}

func newFaultInjector(tb testing.TB, backend string) (*faultInjector, string) {
	u, err := url.Parse(backend)
	if err != nil {
		tb.Fatal(err)
	}
	f := &faultInjector{proxy: httputil.NewSingleHostReverseProxy(u), plan: map[string][]int{}, code: map[string][]string{}, lose: map[string]int{}}
	ts := httptest.NewServer(f)
	tb.Cleanup(ts.Close)
	return f, ts.URL
}

func (f *faultInjector) failNext(action string, status int, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plan[action] = append(f.plan[action], status)
	f.code[action] = append(f.code[action], code)
}

// loseNext lets the next call of action reach the endpoint, which carries
// it out, and answers it with a 500 instead of the endpoint's answer: IAM
// made the change but its answer was lost, so the client's retryer sends
// the call again.
func (f *faultInjector) loseNext(action string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lose[action]++
}

func (f *faultInjector) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	action := form.Get("Action")
	f.mu.Lock()
	var status int
	var code string
	if len(f.plan[action]) > 0 {
		status, code = f.plan[action][0], f.code[action][0]
		f.plan[action], f.code[action] = f.plan[action][1:], f.code[action][1:]
	}
	lost := status == 0 && f.lose[action] > 0
	if lost {
		f.lose[action]--
		status, code = http.StatusInternalServerError, "ServiceFailure"
	}
	f.mu.Unlock()
	if lost {
		f.proxy.ServeHTTP(httptest.NewRecorder(), req)
	}
	if status == 0 {
		f.proxy.ServeHTTP(w, req)
		return
	}
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>%s</Type><Code>%s</Code><Message>injected %s for %s</Message></Error><RequestId>test</RequestId></ErrorResponse>`, typ, code, code, action)
}

// backends runs fn against a fresh iamlocal server per test and against
// one moto server shared by the subtests of the calling test.
type scenario struct {
	name string
	run  func(t *testing.T, e *env)
}

func runScenarios(t *testing.T, scenarios []scenario) {
	t.Run("iamlocal", func(t *testing.T) {
		t.Parallel()
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				srv, url := iamlocaltest.Start(t, iamlocal.Options{})
				e := newEnv(t, "iamlocal", url, srv)
				e.managed = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
				sc.run(t, e)
			})
		}
	})
	t.Run("moto", func(t *testing.T) {
		t.Parallel()
		url := iamlocaltest.StartMoto(t)
		out, err := iamlocaltest.Client(t, url).CreatePolicy(context.Background(), &iam.CreatePolicyInput{
			PolicyName:     aws.String("rolegate-test-instance-core"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:UpdateInstanceInformation","Resource":"*"}]}`),
		})
		if err != nil {
			t.Fatalf("moto CreatePolicy: %v", err)
		}
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, "moto", url, nil)
				e.managed = aws.ToString(out.Policy.Arn)
				sc.run(t, e)
			})
		}
	})
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
