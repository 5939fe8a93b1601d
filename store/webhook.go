package store

import (
	"fmt"
	"strings"
	"time"
)

// webhookPayload is the JSON a webhook receives: the event, and a `text`
// line Slack and compatible chat tools show as is.
func webhookPayload(e Event) map[string]any {
	return map[string]any{
		"event_id":   e.ID,
		"kind":       e.Kind,
		"request_id": e.RequestID,
		"version":    e.Version,
		"actor":      e.Actor,
		"time":       e.CreatedAt.UTC().Format(time.RFC3339),
		"data":       e.Data,
		"text":       webhookText(e),
	}
}

// webhookText is the payload's text line, in Slack's markup: every value
// not rolegate's own (the actor's name; the kind, when it has no notice)
// goes through slackEscape, so a name such as "<!channel>" or
// "<https://evil.example|bob>" is shown as written rather than notifying
// the whole channel or posting a link.
func webhookText(e Event) string {
	what := words[e.Kind].notice
	if what == "" {
		what = slackEscape(e.Kind)
	}
	return fmt.Sprintf("rolegate: request #%d %s (by %s)", e.RequestID, what, slackEscape(e.Actor))
}

// slackEscaper writes out the three characters Slack's text reads as
// markup (links, mentions, <!channel>), as Slack documents.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackEscape is s with &, < and > escaped for a Slack text field.
func slackEscape(s string) string { return slackEscaper.Replace(s) }
