package worker

import (
	"context"
	"log/slog"
	"strings"
)

// quietHandler hands River's records on, except that its periodic
// "Producer job counts" line (a third of all lines at idle, and nothing an
// operator acts on) is demoted to debug. River has no setting for it.
type quietHandler struct{ next slog.Handler }

// isProducerCounts recognises the line by its message, which River
// prefixes with the producer's name.
func isProducerCounts(msg string) bool { return strings.HasSuffix(msg, "Producer job counts") }

func (h quietHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level > slog.LevelDebug && isProducerCounts(r.Message) {
		if !h.next.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.next.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{h.next.WithAttrs(attrs)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.next.WithGroup(name)}
}
