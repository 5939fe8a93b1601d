// Package webhook delivers rolegate's notifications: one signed JSON POST
// per event and receiver, run as a River job by the worker. The store
// decides which events notify whom and writes the payload; this package
// only sends it.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/rolegate/rolegate/store/jobargs"
)

// SignatureHeader carries the HMAC-SHA256 of a webhook body:
// "sha256=" + hex, keyed with the webhook secret.
const SignatureHeader = "X-Rolegate-Signature"

// Sign returns the SignatureHeader value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// SignatureHeader signs the body alone, so a delivery someone saw can be
// posted to the receiver again, any time later. TimestampHeader and
// TimestampedSignatureHeader make a replay refusable: the first is when
// this attempt was sent (Unix seconds), the second the HMAC-SHA256 of
// that time, the delivery's ID (DeliveryHeader) and the body, "sha256=" +
// hex. A receiver checks it (Verify), refuses a time further from its
// clock than a few minutes, and remembers the IDs it took for twice as
// long (a time ahead of its clock stays acceptable that long).
const (
	DeliveryHeader             = "X-Rolegate-Delivery"
	TimestampHeader            = "X-Rolegate-Timestamp"
	TimestampedSignatureHeader = "X-Rolegate-Signature-Timestamped"
)

// SignTimestamped returns the TimestampedSignatureHeader value of a
// delivery sent at unix with ID delivery: the HMAC-SHA256, keyed with
// secret, of "<unix>.<delivery>.<body>".
func SignTimestamped(secret string, unix int64, delivery string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.%s.", unix, delivery)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify is what a receiver written in Go checks of a delivery with
// headers h and body: its timestamped signature under secret, and a
// timestamp at most tolerance from now (either way). It returns nil for a
// delivery rolegate sent within that time. The receiver still refuses a
// delivery ID (h's DeliveryHeader) it took in the last twice tolerance,
// which a replay would repeat: a timestamp up to tolerance ahead of its
// clock stays acceptable for twice tolerance.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	unix, err := strconv.ParseInt(h.Get(TimestampHeader), 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: %s is not a Unix time", TimestampHeader)
	}
	want := SignTimestamped(secret, unix, h.Get(DeliveryHeader), body)
	if !hmac.Equal([]byte(h.Get(TimestampedSignatureHeader)), []byte(want)) {
		return fmt.Errorf("webhook: %s does not match", TimestampedSignatureHeader)
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook: sent at %s, more than %s from now", time.Unix(unix, 0).UTC().Format(time.RFC3339), tolerance)
	}
	return nil
}

// Deliver posts one notification to its receiver with client, signed with
// secret unless it is empty. The receiver is the one of receivers (the
// worker's --webhook-urls) that args names (jobargs.ReceiverID), or the
// URL of a job enqueued before jobs named receivers that way. A payload
// that cannot be encoded, a receiver no longer configured or a URL that
// cannot be requested cancels the job (river.JobCancel), since no retry
// can help; a failed connection or an answer other than 2xx (a redirect
// included: none is followed, whatever client's policy) returns an
// error, and River retries the delivery with back-off. No error holds
// more of the receiver's URL than its scheme and host: the rest (a
// Slack-style path, a query's token) may be the secret that lets anyone
// post to it, and job errors are logged and stored.
func Deliver(ctx context.Context, client *http.Client, secret string, receivers []string, args jobargs.Webhook) error {
	body, err := json.Marshal(args.Payload)
	if err != nil {
		return river.JobCancel(fmt.Errorf("encode webhook: %w", err))
	}
	target := args.URL
	if target == "" {
		for _, u := range receivers {
			if jobargs.ReceiverID(u) == args.Receiver {
				target = u
				break
			}
		}
		if target == "" {
			return river.JobCancel(fmt.Errorf("webhook receiver %s of event %d is not among this worker's webhook URLs (was it removed?); the notification is dropped",
				args.Receiver, args.EventID))
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return river.JobCancel(fmt.Errorf("webhook URL %s cannot be requested: %w", Redact(target), withoutURL(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rolegate-webhook")
	req.Header.Set("X-Rolegate-Event", fmt.Sprint(args.Payload["kind"]))
	delivery := strconv.FormatInt(args.EventID, 10)
	req.Header.Set(DeliveryHeader, delivery)
	if secret != "" {
		req.Header.Set(SignatureHeader, Sign(secret, body))
		unix := time.Now().Unix()
		req.Header.Set(TimestampHeader, strconv.FormatInt(unix, 10))
		req.Header.Set(TimestampedSignatureHeader, SignTimestamped(secret, unix, delivery, body))
	}
	// A redirect is not followed: it would send the signed body to a host
	// the configuration does not name, or (a 302 turns into a GET) have
	// the worker fetch whatever address the receiver names from inside
	// the network. It answers 3xx, a failed delivery.
	noRedirects := *client
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noRedirects.Do(req)
	if err != nil {
		return fmt.Errorf("deliver webhook to %s: %w", Redact(target), withoutURL(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // drain for connection reuse
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook receiver %s answered %s", Redact(target), resp.Status)
	}
	return nil
}

// Redact is what logs and errors may say of a webhook URL: its scheme
// and host, then "/…" when it has more (a path, a query, a user).
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(a webhook URL that does not parse)"
	}
	shown := u.Scheme + "://" + u.Host
	if u.User != nil {
		shown = u.Scheme + "://…@" + u.Host
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		shown += "/…"
	}
	return shown
}

// withoutURL is err without the URL that net/http's *url.Error puts in
// its message (the request's, or a redirect's).
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
