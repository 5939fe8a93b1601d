package api

import (
	"bytes"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/problem"
)

// ReplayedHeader marks a response replayed from an earlier request with
// the same Idempotency-Key.
const ReplayedHeader = "Idempotent-Replayed"

// keptHeaders are the response headers a replay repeats.
var keptHeaders = []string{echo.HeaderContentType, echo.HeaderLocation, "ETag"}

// idempotent makes a creating POST safe to retry: with an Idempotency-Key
// header, the first request claims the key in the database, runs, and
// stores its response; a retry with the same key and body gets that
// response again (marked Idempotent-Replayed), one with another body 422,
// and one while the first still runs 409 with Retry-After. Server errors
// release the key so a retry runs afresh. Without the header the request
// runs as it is.
func idempotent(st Store, logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			key := c.Request().Header.Get("Idempotency-Key")
			if key == "" {
				return next(c)
			}
			if len(key) > 255 || strings.ContainsFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
				return newAPIError(http.StatusBadRequest, "bad-idempotency-key",
					"Idempotency-Key must be 1 to 255 printable ASCII characters without spaces, e.g. a UUID.")
			}
			body, err := readBody(c)
			if err != nil {
				return err
			}
			k := store.IdempotencyKey{
				User: tokenOf(c).User, Key: key, Method: c.Request().Method,
				Path: c.Request().URL.Path, BodySHA256: sha256.Sum256(body),
			}
			ctx := c.Request().Context()
			stored, claimed, err := st.ClaimIdempotencyKey(ctx, k)
			if err != nil {
				return err
			}
			if !claimed {
				h := c.Response().Header()
				for name, v := range stored.Headers {
					h.Set(name, v)
				}
				h.Set(ReplayedHeader, "true")
				return c.Blob(stored.Status, stored.Headers[echo.HeaderContentType], stored.Body)
			}

			handler := next
			if stored.RequestID != 0 {
				// A server died after writing this key's request and
				// before storing its answer: answer with the request.
				handler = func(c echo.Context) error { return answerCreated(c, st, stored.RequestID) }
			}
			c.Set(idempotencyKeyContext, &k)

			// Run the handler, rendering its error here, into a copy of
			// the response as well as to the caller.
			res := c.Response()
			rec := &teeWriter{ResponseWriter: res.Writer}
			res.Writer = rec
			if err := handler(c); err != nil {
				if _, known := classify(c, err); !known {
					// Not stored: the retry should run again.
					releaseKey(st, k, logger, c)
					return err
				}
				ae := mustClassify(c, err)
				if ae.status >= 500 {
					// As apiProblems logs it, which sees no error here.
					logger.Warn(problem.Warning(err), "err", err, "route", problem.Route(c), "request_id", problem.RequestID(c))
				}
				if werr := writeProblem(c, ae); werr != nil {
					releaseKey(st, k, logger, c)
					return werr
				}
			}
			res.Writer = rec.ResponseWriter
			if res.Status >= 500 || !res.Committed {
				releaseKey(st, k, logger, c)
				return nil
			}
			keep := store.StoredResponse{Status: res.Status, Headers: map[string]string{}, Body: rec.buf.Bytes()}
			for _, name := range keptHeaders {
				if v := res.Header().Get(name); v != "" {
					keep.Headers[name] = v
				}
			}
			// The caller has the response already; a key that cannot be
			// completed is released, so a retry runs (and meets the
			// state guards) rather than waiting for a stale claim.
			done, cancel := afterWrite(c)
			defer cancel()
			if err := st.CompleteIdempotencyKey(done, k, keep); err != nil {
				logger.Error("storing the idempotent response failed", "err", err, "request_id", problem.RequestID(c))
				releaseKey(st, k, logger, c)
			}
			return nil
		}
	}
}

// idempotencyKeyContext holds the claimed key for the handler, which
// passes it to the store so the write records its request on the key.
const idempotencyKeyContext = "rolegate.idempotency_key"

// claimedKey is the key the request runs under, or nil.
func claimedKey(c echo.Context) *store.IdempotencyKey {
	k, _ := c.Get(idempotencyKeyContext).(*store.IdempotencyKey)
	return k
}

// answerCreated answers a creating POST whose write happened under a
// server that died before answering: 201 with the request as it is now.
func answerCreated(c echo.Context, st Store, id int64) error {
	r, err := st.GetRequest(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return renderCreated(c, st, r)
}

func mustClassify(c echo.Context, err error) *apiError {
	ae, _ := classify(c, err)
	return ae
}

func releaseKey(st Store, k store.IdempotencyKey, logger *slog.Logger, c echo.Context) {
	done, cancel := afterWrite(c)
	defer cancel()
	if err := st.ReleaseIdempotencyKey(done, k); err != nil {
		logger.Error("releasing an idempotency key failed", "err", err, "request_id", problem.RequestID(c))
	}
}

// teeWriter copies what a handler writes.
type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	return w.ResponseWriter.Write(p)
}
