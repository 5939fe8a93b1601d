package worker_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
)

// blinkingStore is the real store whose StillProvisioning answers as the
// store does when the database is out of reach, as many times as fail
// says, then as the database does.
type blinkingStore struct {
	*store.DB
	fail atomic.Int32
}

func (s *blinkingStore) StillProvisioning(ctx context.Context, id int64, version int) error {
	if s.fail.Add(-1) >= 0 {
		return &store.Error{Kind: store.KindUnavailable, Message: "FATAL: terminating connection due to administrator command (SQLSTATE 57P01)"}
	}
	return s.DB.StillProvisioning(ctx, id, version)
}

// A database out of reach for a moment while a provisioning job runs (a
// failover, say) is retried like IAM's passing faults, not taken as a
// reason to fail the request.
func TestDatabaseBlinkDuringProvisioningIsRetried(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.stop()
	st := &blinkingStore{DB: e.db}
	st.fail.Store(1)
	w, err := worker.New(e.db.Pool(), st, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.w = w
	r := e.submit("blinked")
	e.approve(r)
	eventually(t, func() (bool, string) {
		got, err := e.db.GetRequest(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status == store.StatusActive || got.Status == store.StatusFailed, "request is " + string(got.Status)
	})
	if got, _ := e.db.GetRequest(context.Background(), r.ID); got.Status != store.StatusActive {
		t.Fatalf("provisioning through a moment without the database ended %s: %s", got.Status, got.StatusReason)
	}
}
