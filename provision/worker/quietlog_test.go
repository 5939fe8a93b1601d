package worker_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
)

// recordHandler hands every record it gets to a channel.
type recordHandler struct{ records chan<- slog.Record }

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.records <- r:
	default: // the test has what it needs
	}
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

// River logs its producer's job counts every five seconds once they
// change; at idle that was a third of all lines. It comes at debug level.
func TestProducerJobCountsAreDebug(t *testing.T) {
	t.Parallel()
	records := make(chan slog.Record, 10000)
	e := setup(t, func(c *worker.Config, _ *store.Options) { c.Logger = slog.New(recordHandler{records}) })
	e.activate("counted")
	timeout := time.After(30 * time.Second) // River's ticker is 5s
	for {
		select {
		case rec := <-records:
			if !strings.HasSuffix(rec.Message, "Producer job counts") {
				continue
			}
			if rec.Level != slog.LevelDebug {
				t.Fatalf("%q logged at %v, want DEBUG", rec.Message, rec.Level)
			}
			return
		case <-timeout:
			t.Fatal("no producer job counts line within 30s")
		}
	}
}
