package iamlocaltest

import (
	"io"
	"net/http"
	"testing"
)

// Send sends req from hc, for tests that speak HTTP to a server without an
// SDK, and returns the answer with its body read and closed. It fails the
// test when the request cannot be sent or its body cannot be read.
func Send(tb testing.TB, hc *http.Client, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	res, err := hc.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res, body
}
