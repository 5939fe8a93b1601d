package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/riverqueue/river/rivertype"

	"github.com/rolegate/rolegate/provision/worker/webhook"
	"github.com/rolegate/rolegate/store/jobargs"
)

// A delivery is one signed POST; a receiver's error is retried (a plain
// error), a URL no request can go to is not (the job is cancelled).
func TestDeliver(t *testing.T) {
	t.Parallel()
	type seen struct {
		body           []byte
		sig, event, id string
	}
	got := make(chan seen, 1)
	status := http.StatusNoContent
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		got <- seen{b, r.Header.Get(webhook.SignatureHeader), r.Header.Get("X-Rolegate-Event"), r.Header.Get("X-Rolegate-Delivery")}
		w.WriteHeader(status)
	}))
	t.Cleanup(recv.Close)
	args := jobargs.Webhook{URL: recv.URL, EventID: 42, Payload: map[string]any{"kind": "request.submitted"}}
	if err := webhook.Deliver(context.Background(), recv.Client(), "s3cret", args); err != nil {
		t.Fatal(err)
	}
	s := <-got
	if string(s.body) != `{"kind":"request.submitted"}` || s.sig != webhook.Sign("s3cret", s.body) ||
		s.event != "request.submitted" || s.id != "42" {
		t.Fatalf("received %+v", s)
	}

	status = http.StatusServiceUnavailable
	err := webhook.Deliver(context.Background(), recv.Client(), "", args)
	var cancel *rivertype.JobCancelError
	if err == nil || errors.As(err, &cancel) {
		t.Fatalf("a failing receiver gave %v, want an error River retries", err)
	}
	if s := <-got; s.sig != "" {
		t.Fatalf("unsigned delivery carries signature %q", s.sig)
	}

	args.URL = "http://[::1"
	if err := webhook.Deliver(context.Background(), recv.Client(), "", args); !errors.As(err, &cancel) {
		t.Fatalf("a malformed URL gave %v, want the job cancelled", err)
	}
}
