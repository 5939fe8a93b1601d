package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
	"github.com/rolegate/rolegate/web/auth"
)

// TestBrowserRequestToActiveRole drives Debian's chromium: alice asks for a
// role with two bucket scopes and sees the live preview, bob approves it on
// the dashboard, the worker's side of the store provisions it, and the
// request page shows it active with its ARNs and downloads its Terraform;
// bob then makes an API token, shown once with a copy button.
// Screenshots go to testoutput/.
func TestBrowserRequestToActiveRole(t *testing.T) {
	b, f := browserTest(t)
	downloads := t.TempDir()
	ctx, run, text, shot, css := b.ctx, b.run, b.text, b.shot, b.css

	// alice signs in and fills the form, adding a second scope row.
	b.signInAs(f.srv.URL, "alice")
	b.startRequest(f.srv.URL, "reports-reader", "The nightly report job on the analytics hosts reads these.", "team-reports")
	run("alice fills the form",
		chromedp.SendKeys(css(`#f-prefix-0`), "daily/"),
		chromedp.Click(css(`#add-scope`)),
		chromedp.WaitVisible(css(`#f-bucket-1`)),
		chromedp.SendKeys(css(`#f-bucket-1`), "team-exports"),
		chromedp.WaitVisible(css(`[data-testid="preview-role"]`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`!!document.getElementById("pv-policy") && document.getElementById("pv-policy").textContent.includes("team-exports")`)(ctx, tg)
			return err
		}),
		shot("1-request-form"),
	)
	if preview := text("#pv-policy"); !strings.Contains(preview, "arn:aws:s3:::team-reports/daily/*") || !strings.Contains(preview, "arn:aws:s3:::team-exports") {
		t.Fatalf("preview policy:\n%s", preview)
	}
	if v, err := chromedp.Run(ctx, chromedp.Value(css("#f-name"))); err != nil || v != "reports-reader" {
		t.Fatalf("the name typed before adding a row was lost: %q, %v", v, err)
	}

	run("alice submits", chromedp.Click(css(`#submit`)), chromedp.WaitVisible(css(`.flash-ok`)))
	if h := text("h1"); !strings.Contains(h, "reports-reader") {
		t.Fatalf("after submitting: heading %q", h)
	}
	page, err := f.db.ListRequests(uiCtx(t), store.ListFilter{Requester: "alice"})
	if err != nil || len(page.Requests) != 1 || len(page.Requests[0].Spec.Buckets) != 2 {
		t.Fatalf("stored: %+v, %v", page.Requests, err)
	}
	req := page.Requests[0]

	// bob switches user in the header and approves on the dashboard.
	b.switchUser("bob")
	run("bob approves",
		chromedp.Navigate(f.srv.URL+"/dashboard"),
		chromedp.WaitVisible(css(fmt.Sprintf(`[data-id="%d"]`, req.ID))),
		chromedp.SendKeys(css(fmt.Sprintf(`#comment-%d`, req.ID)), "fine for the report job"),
		shot("2-dashboard"),
		chromedp.Click(css(fmt.Sprintf(`[aria-label="Approve request %d"]`, req.ID))),
		chromedp.WaitVisible(css(`.flash-ok`)),
	)
	if r, err := f.db.GetRequest(uiCtx(t), req.ID); err != nil || r.Status != store.StatusApproved {
		t.Fatalf("after bob's approval: %s, %v", r.Status, err)
	}

	// The real worker provisions it through the SDK into a local IAM
	// endpoint over HTTP.
	live := provisionWithWorker(t, f.db, req.ID)

	run("the request page shows the active role",
		chromedp.Navigate(f.srv.URL+"/requests/"+strconv.FormatInt(req.ID, 10)),
		chromedp.WaitVisible(css(`#role-arn`)),
		shot("3-request-detail"),
	)
	if status, role, profile := text(".page-head .badge"), text("#role-arn"), text("#profile-arn"); status != "active" ||
		role != live.RoleARN || profile != live.InstanceProfileARN {
		t.Fatalf("detail shows %q, %q, %q; want active, %q, %q", status, role, profile, live.RoleARN, live.InstanceProfileARN)
	}

	// The Terraform downloads as a file.
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	run("download the Terraform",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			yes := true
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &yes})
			return err
		}),
		chromedp.Click(css(`#download-tf`)),
	)
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State != browser.DownloadProgressStateCompleted {
			continue
		}
		tf, err := os.ReadFile(filepath.Join(downloads, ev.GUID))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(tf), `resource "aws_iam_role" "reports-reader"`) || !strings.Contains(string(tf), "team-exports") {
			t.Fatalf("downloaded Terraform:\n%s", tf)
		}
		break
	}

	// bob makes an API token: shown once, with a working copy button.
	run("bob creates an API token",
		chromedp.Navigate(f.srv.URL+"/settings/tokens"),
		chromedp.WaitVisible(css(`#t-description`)),
		chromedp.SendKeys(css(`#t-description`), "approval bot"),
		chromedp.Click(css(`#t-role-approver`)),
		chromedp.Click(css(`#create-token`)),
		chromedp.WaitVisible(css(`#token-secret`)),
		chromedp.WaitVisible(css(`[data-copy="token-secret"]`)),
		shot("4-api-token"),
	)
	if secret := text("#token-secret"); !secretRe.MatchString(secret) {
		t.Fatalf("token page shows %q", secret)
	}
}

// browserSession is one headless chromium with helpers that fail the test
// on error; screenshots go to testoutput/.
type browserSession struct {
	t   *testing.T
	ctx context.Context
	out string
}

// newBrowser starts Debian's chromium, or skips outside CI when it is not
// installed (CI fails instead).
func newBrowser(t *testing.T) *browserSession {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed: apt-get install -y chromium")
		}
		t.Skip("chromium is not installed (apt-get install -y chromium)")
	}
	out := "testoutput"
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 1000), chromedp.UserDataDir(t.TempDir()))
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel)
	return &browserSession{t: t, ctx: ctx, out: out}
}

// browserTest runs t in parallel with a browser and a server of its own
// that offers the dev sign-in.
func browserTest(t *testing.T) (*browserSession, *uiFixture) {
	t.Helper()
	t.Parallel()
	return newBrowser(t), uiSetup(t, auth.Identity{DevUsers: true})
}

func (b *browserSession) shot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		buf, err := chromedp.FullScreenshot(100)(ctx, tg)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(b.out, name+".png"), buf, 0o644)
	})
}

func (b *browserSession) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

func (b *browserSession) text(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(v)
}

// count returns how many elements match sel.
func (b *browserSession) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		b.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

func (b *browserSession) css(s string) chromedp.CSS { return chromedp.CSS(s) }

// TestBrowserApprovalProgress: the preview says what a request will
// need, and the dashboard row and request page say how far it is; an
// approver who decided sees their decision, not the buttons.
func TestBrowserApprovalProgress(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	db := storetest.Open(t, storetest.URL(t), store.Options{Rules: store.ApprovalRules{
		Routes: []store.Route{{Pattern: "owned-*", Group: "data-owners"}}}})
	f := uiServe(t, db, auth.Identity{DevUsers: true})
	css := b.css
	b.signInAs(f.srv.URL, "alice")
	b.startRequest(f.srv.URL, "owned-writer", "The export job writes its results here.", "owned-exports")
	b.run("alice previews a routed write request",
		chromedp.SetValue(css(`#f-access-0`), "write"),
		chromedp.WaitVisible(css(`[data-testid="preview-approvals"]`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`(document.querySelector('[data-testid="preview-approvals"]')||{}).textContent?.includes("2 approvals")`)(ctx, tg)
			return err
		}),
		b.shot("progress-1-preview"),
	)
	if got, want := b.text(`[data-testid="preview-approvals"]`), "This request will need 2 approvals from approvers and one from data-owners."; got != want {
		t.Fatalf("preview says %q, want %q", got, want)
	}
	b.run("alice submits", chromedp.Click(css(`#submit`)), chromedp.WaitVisible(css(`.flash-ok`)))
	page, err := db.ListRequests(uiCtx(t), store.ListFilter{Requester: "alice"})
	if err != nil || len(page.Requests) != 1 {
		t.Fatalf("stored: %+v, %v", page.Requests, err)
	}
	id := page.Requests[0].ID
	row := fmt.Sprintf(`[data-id="%d"]`, id)

	b.switchUser("bob")
	b.run("bob opens the dashboard",
		chromedp.Navigate(f.srv.URL+"/dashboard"),
		chromedp.WaitVisible(css(row)),
	)
	if got := b.text(row + ` [data-testid="approvals"]`); got != "0 of 2 approvals; still needs data-owners" {
		t.Fatalf("dashboard row before any decision: %q", got)
	}
	b.run("bob approves",
		chromedp.Click(css(fmt.Sprintf(`[aria-label="Approve request %d"]`, id))),
		chromedp.WaitVisible(css(`.flash-ok`)),
		chromedp.Navigate(f.srv.URL+"/dashboard"),
		chromedp.WaitVisible(css(row+` [data-testid="my-decision"]`)),
		b.shot("progress-2-dashboard-after-bob"),
	)
	if got := b.text(row + ` [data-testid="approvals"]`); got != "1 of 2 approvals; still needs data-owners" {
		t.Fatalf("dashboard row after bob: %q", got)
	}
	if n := b.count(row + ` [aria-label="Approve request ` + strconv.FormatInt(id, 10) + `"]`); n != 0 {
		t.Fatalf("bob still has %d Approve buttons after deciding", n)
	}
	b.run("bob's request page",
		chromedp.Navigate(fmt.Sprintf("%s/requests/%d", f.srv.URL, id)),
		chromedp.WaitVisible(css(`[data-testid="approvals"]`)),
		b.shot("progress-3-request-page-bob"),
	)
	if got, mine := b.text(`[data-testid="approvals"]`), b.text(`[data-testid="my-decision"]`); got != "1 of 2 approvals; still needs data-owners" ||
		!strings.HasPrefix(mine, "You approved this version") {
		t.Fatalf("request page: %q, %q", got, mine)
	}
	if n := b.count(`button[value="approve"]`); n != 0 {
		t.Fatalf("request page offers bob %d Approve buttons after he decided", n)
	}
	// dave approves as an approver in data-owners: both at once.
	b.switchUser("dave")
	b.run("dave approves",
		chromedp.Navigate(fmt.Sprintf("%s/requests/%d", f.srv.URL, id)),
		chromedp.WaitVisible(css(`button[value="approve"]`)),
		chromedp.Click(css(`button[value="approve"]`)),
		chromedp.WaitVisible(css(`.flash-ok`)),
	)
	if r, err := db.GetRequest(uiCtx(t), id); err != nil || r.Status != store.StatusApproved {
		t.Fatalf("after bob and dave: %s, %v", r.Status, err)
	}
}

// provisionWithWorker runs rolegate's worker against a local IAM endpoint
// until request id is active, and returns it.
func provisionWithWorker(t *testing.T, db *store.DB, id int64) store.Request {
	t.Helper()
	_, url := iamlocaltest.Start(t, iamlocal.Options{})
	w, err := worker.New(db.Pool(), db, worker.Config{
		Settings:          db.Settings(),
		Reconciler:        provision.NewReconciler(iamlocaltest.Client(t, url), provision.ReconcilerOptions{PollMinDelay: 10 * time.Millisecond}),
		FetchPollInterval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := uiCtx(t)
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		w.Stop(stopCtx) //nolint:errcheck // best effort at the end of the test
	})
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := db.GetRequest(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		switch r.Status {
		case store.StatusActive:
			return r
		case store.StatusFailed:
			t.Fatalf("provisioning failed: %s", r.StatusReason)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("request %d still %s", id, r.Status)
		case <-tick.C:
		}
	}
}
