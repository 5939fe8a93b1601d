package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

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
	receivers := []string{"https://other.example/hook", recv.URL}
	args := jobargs.Webhook{Receiver: jobargs.ReceiverID(recv.URL), EventID: 42, Payload: map[string]any{"kind": "request.submitted"}}
	if err := webhook.Deliver(context.Background(), recv.Client(), "s3cret", receivers, args); err != nil {
		t.Fatal(err)
	}
	s := <-got
	if string(s.body) != `{"kind":"request.submitted"}` || s.sig != webhook.Sign("s3cret", s.body) ||
		s.event != "request.submitted" || s.id != "42" {
		t.Fatalf("received %+v", s)
	}

	status = http.StatusServiceUnavailable
	err := webhook.Deliver(context.Background(), recv.Client(), "", receivers, args)
	var cancel *rivertype.JobCancelError
	if err == nil || errors.As(err, &cancel) {
		t.Fatalf("a failing receiver gave %v, want an error River retries", err)
	}
	if s := <-got; s.sig != "" {
		t.Fatalf("unsigned delivery carries signature %q", s.sig)
	}

	// A job enqueued before receivers were named by ID carries its URL.
	status = http.StatusNoContent
	if err := webhook.Deliver(context.Background(), recv.Client(), "", nil, jobargs.Webhook{URL: recv.URL, EventID: 43}); err != nil {
		t.Fatalf("a job carrying its URL: %v", err)
	}
	<-got

	args.URL = "http://[::1"
	if err := webhook.Deliver(context.Background(), recv.Client(), "", nil, args); !errors.As(err, &cancel) {
		t.Fatalf("a malformed URL gave %v, want the job cancelled", err)
	}
	// A receiver taken out of the configuration: nothing to retry.
	args.URL = ""
	err = webhook.Deliver(context.Background(), recv.Client(), "", []string{"https://other.example/hook"}, args)
	if !errors.As(err, &cancel) || !strings.Contains(err.Error(), "not among this worker's webhook URLs") {
		t.Fatalf("a receiver no longer configured gave %v, want the job cancelled, saying why", err)
	}
}

// TestDeliveryCanBeCheckedForReplay: the body's signature alone let
// anyone who saw a delivery post it to the receiver again, any time
// later. A signed delivery now carries when it was sent and a signature
// of that time, its ID and its body, which Verify checks.
func TestDeliveryCanBeCheckedForReplay(t *testing.T) {
	t.Parallel()
	type seen struct {
		h    http.Header
		body []byte
	}
	got := make(chan seen, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Header.Clone(), b}
	}))
	t.Cleanup(recv.Close)
	args := jobargs.Webhook{URL: recv.URL, EventID: 7, Payload: map[string]any{"kind": "request.approved"}}
	before := time.Now()
	if err := webhook.Deliver(context.Background(), recv.Client(), "s3cret", nil, args); err != nil {
		t.Fatal(err)
	}
	d := <-got
	unix, err := strconv.ParseInt(d.h.Get(webhook.TimestampHeader), 10, 64)
	if err != nil || unix < before.Unix() || unix > time.Now().Unix() {
		t.Fatalf("%s = %q, want the Unix time it was sent", webhook.TimestampHeader, d.h.Get(webhook.TimestampHeader))
	}
	if err := webhook.Verify("s3cret", d.h, d.body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("the delivery as sent: %v", err)
	}
	if err := webhook.Verify("s3cret", d.h, d.body, time.Unix(unix, 0).Add(6*time.Minute), 5*time.Minute); err == nil {
		t.Error("a replay six minutes later was accepted")
	}
	tampered := func(what string, change func(h http.Header, body []byte) []byte) {
		t.Helper()
		h := d.h.Clone()
		body := change(h, append([]byte(nil), d.body...))
		if err := webhook.Verify("s3cret", h, body, time.Now(), 5*time.Minute); err == nil {
			t.Errorf("a delivery with %s was accepted", what)
		}
	}
	tampered("a later timestamp, to outlive the window", func(h http.Header, b []byte) []byte {
		h.Set(webhook.TimestampHeader, strconv.FormatInt(unix+60, 10))
		return b
	})
	tampered("another delivery ID, to pass the receiver's memory", func(h http.Header, b []byte) []byte {
		h.Set(webhook.DeliveryHeader, "8")
		return b
	})
	tampered("another body", func(h http.Header, b []byte) []byte { return []byte(`{"kind":"request.revoked"}`) })
	tampered("no timestamp", func(h http.Header, b []byte) []byte { h.Del(webhook.TimestampHeader); return b })
	if err := webhook.Verify("other", d.h, d.body, time.Now(), 5*time.Minute); err == nil {
		t.Error("another secret verified the delivery")
	}

	// Unsigned deliveries (no secret) carry neither.
	if err := webhook.Deliver(context.Background(), recv.Client(), "", nil, args); err != nil {
		t.Fatal(err)
	}
	if d := <-got; d.h.Get(webhook.TimestampedSignatureHeader) != "" || d.h.Get(webhook.TimestampHeader) != "" {
		t.Errorf("an unsigned delivery carries %v", d.h)
	}
}

// A Slack-style webhook URL is itself the secret that lets anyone post:
// no delivery error names more of it than its scheme and host, whether
// the receiver cannot be reached, answers an error, redirects to another
// secret URL or is malformed.
func TestDeliveryErrorsKeepTheURLSecret(t *testing.T) {
	t.Parallel()
	const secret = "T0001/B0002/XyZsEcReT"
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/services/"+secret {
			http.Redirect(w, r, "/elsewhere/"+secret+"?token="+secret, http.StatusTemporaryRedirect)
			return
		}
		w.WriteHeader(http.StatusForbidden)
	}))
	t.Cleanup(refusing.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("no redirects") }}
	for _, c := range []struct {
		name, url string
		client    *http.Client
	}{
		{"unreachable", closed.URL + "/services/" + secret, closed.Client()},
		{"answers 403 after a redirect", refusing.URL + "/services/" + secret, refusing.Client()},
		{"a redirect refused", refusing.URL + "/services/" + secret, noRedirects},
		{"token in the query", "http://user:" + secret + "@127.0.0.1:1/hook?token=" + secret, closed.Client()},
		{"malformed", "http://127.0.0.1:1/" + secret + "/%zz", closed.Client()},
	} {
		args := jobargs.Webhook{Receiver: jobargs.ReceiverID(c.url), EventID: 7, Payload: map[string]any{"kind": "request.submitted"}}
		err := webhook.Deliver(context.Background(), c.client, "", []string{c.url}, args)
		if err == nil {
			t.Fatalf("%s: delivered", c.name)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error names the URL's secret: %v", c.name, err)
		}
		if !strings.Contains(err.Error(), "http://") && !strings.Contains(err.Error(), "does not parse") {
			t.Errorf("%s: the error does not say which receiver: %v", c.name, err)
		}
	}
}

// A receiver that answers with a redirect does not get the delivery
// sent on: the signed body would reach a host the configuration does not
// name (over plain HTTP, say), and a 302 would have the worker fetch any
// address the receiver likes, such as the instance metadata service,
// from inside the network. The redirect is a failed delivery, retried
// like any other, whatever client the worker was given.
func TestDeliveryFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	reached := make(chan string, 4)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached <- r.Method + " " + r.Header.Get(webhook.SignatureHeader)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(elsewhere.Close)
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+"/latest/meta-data/", code)
		}))
		t.Cleanup(recv.Close)
		args := jobargs.Webhook{Receiver: jobargs.ReceiverID(recv.URL), EventID: 9, Payload: map[string]any{"kind": "request.submitted"}}
		err := webhook.Deliver(context.Background(), &http.Client{}, "s3cret", []string{recv.URL}, args)
		var cancel *rivertype.JobCancelError
		if err == nil || errors.As(err, &cancel) || !strings.Contains(err.Error(), fmt.Sprint(code)) {
			t.Errorf("a receiver redirecting with %d gave %v, want an error River retries, naming the status", code, err)
		}
		select {
		case got := <-reached:
			t.Errorf("a redirect with %d was followed: the redirect's target got %q", code, got)
		default:
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T0/B0/x": "https://hooks.slack.com/…",
		"https://chat.example.com":                 "https://chat.example.com",
		"https://chat.example.com/":                "https://chat.example.com",
		"https://chat.example.com/?key=x":          "https://chat.example.com/…",
		"https://me:pw@chat.example.com:8443":      "https://…@chat.example.com:8443",
		"http://[::1":                              "(a webhook URL that does not parse)",
	} {
		if got := webhook.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
