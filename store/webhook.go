package store

import (
	"fmt"
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

func webhookText(e Event) string {
	what := words[e.Kind].notice
	if what == "" {
		what = e.Kind
	}
	return fmt.Sprintf("rolegate: request #%d %s (by %s)", e.RequestID, what, e.Actor)
}
