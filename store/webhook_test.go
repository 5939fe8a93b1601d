package store_test

import (
	"fmt"
	"testing"

	"github.com/rolegate/rolegate/store"
)

// TestWebhookTextEscapesSlackMarkup: Slack reads <...> in a text field as
// a link or a mention (<!channel> notifies everyone in it) and & as the
// start of an escape; a user name is the identity provider's, so the text
// line writes &, < and > out as Slack documents (&amp; &lt; &gt;), and
// the payload's actor field keeps the name as it is.
func TestWebhookTextEscapesSlackMarkup(t *testing.T) {
	f, _ := setup(t, store.Options{Webhooks: []string{"https://hooks.example.com/services/T01/B02/x"}})
	name := "eve <!channel> <https://evil.example|bob> & co"
	r := mustCreate(t, f.db, newRequest("reports-reader", name))
	jobs := jobArgs(t, f.db, "webhook", 0)
	if len(jobs) != 1 {
		t.Fatalf("webhook jobs = %v, want one", jobs)
	}
	p := jobs[0]["payload"].(map[string]any)
	want := fmt.Sprintf("rolegate: request #%d was submitted (by eve &lt;!channel&gt; &lt;https://evil.example|bob&gt; &amp; co)", r.ID)
	if p["text"] != want {
		t.Errorf("text = %q, want %q", p["text"], want)
	}
	if p["actor"] != name {
		t.Errorf("actor = %q, want the name as it is, %q", p["actor"], name)
	}
}
