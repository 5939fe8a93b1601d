package iamlocal_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

func TestServeStopsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	srv, err := iamlocal.New(iamlocal.Options{})
	must(t, "New", err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, "Listen", err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	c := iamlocaltest.Client(t, "http://"+ln.Addr().String())
	_, err = c.ListRoles(context.Background(), &iam.ListRolesInput{})
	must(t, "ListRoles", err)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil after a clean shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the context ended")
	}
}
