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
	"fmt"
	"io"
	"net/http"

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

// Deliver posts one notification to its receiver with client, signed with
// secret unless it is empty. A payload that cannot be encoded or a URL
// that cannot be requested cancels the job (river.JobCancel), since no
// retry can help; a failed connection or an answer other than 2xx returns
// an error, and River retries the delivery with back-off.
func Deliver(ctx context.Context, client *http.Client, secret string, args jobargs.Webhook) error {
	body, err := json.Marshal(args.Payload)
	if err != nil {
		return river.JobCancel(fmt.Errorf("encode webhook: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, args.URL, bytes.NewReader(body))
	if err != nil {
		return river.JobCancel(fmt.Errorf("webhook URL: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rolegate-webhook")
	req.Header.Set("X-Rolegate-Event", fmt.Sprint(args.Payload["kind"]))
	req.Header.Set("X-Rolegate-Delivery", fmt.Sprint(args.EventID))
	if secret != "" {
		req.Header.Set(SignatureHeader, Sign(secret, body))
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("deliver webhook: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // drain for connection reuse
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook receiver answered %s", resp.Status)
	}
	return nil
}
