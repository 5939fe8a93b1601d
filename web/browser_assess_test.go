package web

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/provision"
)

// TestBrowserDashboardDecisionAids: an approver's dashboard row shows the
// request's access in words and its risk badges, visible on screen, and the
// Risk filter keeps only the flagged requests. The screenshot is saved in
// the test's temporary directory.
func TestBrowserDashboardDecisionAids(t *testing.T) {
	b, f := browserTest(t)
	uiCreate(t, f.db, uiNewReq("etl-writer", "alice", provision.BucketScope{Bucket: "team-curated", Access: provision.AccessReadWrite}))
	uiCreate(t, f.db, uiNewReq("calm-reader", "alice"))
	css := b.css
	b.signInAs(f.srv.URL, "bob")

	row := `.queue-item:has(a[href$="/requests/1"])`
	b.run("bob opens the dashboard",
		chromedp.Navigate(f.srv.URL+"/dashboard"),
		chromedp.WaitVisible(css(row+` [data-testid="summary-short"]`)),
		chromedp.WaitVisible(css(row+` .badge.risk[data-risk="whole-bucket-write"]`)),
	)
	if got := b.text(row + ` [data-testid="summary-short"]`); !strings.HasPrefix(got, "list every key in `team-curated`; read, write and delete any object in `team-curated`") {
		t.Errorf("summary on the row: %q", got)
	}
	for _, code := range []string{"whole-bucket-write", "delete", "no-expiry"} {
		sel := row + ` .badge.risk[data-risk="` + code + `"]`
		if !eval[bool](b, `(() => { const e = document.querySelector('`+sel+`'); if (!e) return false;
			const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility === 'visible'; })()`) {
			t.Errorf("badge %s is not visible on the row", code)
		}
	}
	if title := eval[string](b, `document.querySelector('`+row+` .badge.risk[data-risk="delete"]').title`); title != "may delete objects under `team-curated/`" {
		t.Errorf("the delete badge's reason: %q", title)
	}
	b.out = t.TempDir()
	shot := filepath.Join(b.out, "dashboard-decision-aids.png")
	b.run("screenshot", b.shot("dashboard-decision-aids"))
	if png, err := os.ReadFile(shot); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot %s: %v", shot, err)
	}

	b.run("bob chooses the delete risk", chromedp.SetValue(css(`#flt-risk`), "delete"))
	if status := b.submit("bob filters by it", `form.filters button[type="submit"]`); status != 200 {
		t.Fatalf("filtered dashboard: %d", status)
	}
	b.run("the filtered dashboard", chromedp.WaitVisible(css(`.queue-item`)), waitFor(`location.search.includes('risk=delete')`))
	if n := b.count(`.queue-item`); n != 1 || b.count(row) != 1 {
		t.Fatalf("the delete filter lists %d requests, want only etl-writer", n)
	}
}
