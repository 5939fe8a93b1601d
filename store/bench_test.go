package store_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// The store's benchmarks report, besides ns/op, the ratio to a baseline
// measured in the same run on the same database: one committed single-row
// INSERT (what PostgreSQL itself costs per transaction on this machine).
// Compare ratios across machines, not ns/op; nothing here asserts a time.

var benchSeq atomic.Int64

func benchDB(b *testing.B, conns int32) *store.DB {
	b.Helper()
	db := storetest.Open(b, storetest.URL(b), store.Options{MaxConns: conns})
	if _, err := db.Pool().Exec(context.Background(),
		`CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	return db
}

// baselineInsert returns the mean time of n committed single-row INSERTs.
func baselineInsert(b *testing.B, db *store.DB, n int) time.Duration {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	for i := range n {
		if _, err := db.Pool().Exec(ctx, `INSERT INTO bench_baseline (name, created_at) VALUES ($1, now())`, fmt.Sprint("b", i)); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / time.Duration(n)
}

func benchRequest() store.NewRequest {
	return store.NewRequest{Requester: "alice", Justification: "benchmark",
		Spec: provision.RoleSpec{Name: fmt.Sprintf("bench-%d", benchSeq.Add(1)),
			Buckets: []provision.BucketScope{{Bucket: "example-bucket", Prefix: "reports/", Access: provision.AccessRead}}}}
}

func reportRatio(b *testing.B, per, base time.Duration) {
	b.ReportMetric(float64(base.Nanoseconds()), "baseline-ns/insert")
	b.ReportMetric(float64(per)/float64(base), "x-baseline")
}

// BenchmarkCreateRequest stores one pending request (request, version,
// scopes and the chained audit event in one transaction).
func BenchmarkCreateRequest(b *testing.B) {
	db := benchDB(b, 2)
	ctx := context.Background()
	base := baselineInsert(b, db, 200)
	n := 0
	start := time.Now()
	for b.Loop() {
		if _, err := db.CreateRequest(ctx, benchRequest()); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportRatio(b, time.Since(start)/time.Duration(n), base)
}

// BenchmarkDecide approves one pending request: the decision, the status
// change, the audit event and the provisioning job in one transaction.
// Creating the request is not timed.
func BenchmarkDecide(b *testing.B) {
	db := benchDB(b, 2)
	ctx := context.Background()
	base := baselineInsert(b, db, 200)
	approver := store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}
	var spent time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		r, err := db.CreateRequest(ctx, benchRequest())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := db.Decide(ctx, approver, r.ID, r.Version, store.Decision{Approve: true}); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(start)
		n++
	}
	reportRatio(b, spent/time.Duration(n), base)
}

// BenchmarkCreateRequestParallel creates requests from 8 goroutines per
// CPU, against the same INSERTs done in parallel: every audit event takes
// the chain's advisory lock until commit, so this ratio shows how much that
// serialisation costs under concurrency.
func BenchmarkCreateRequestParallel(b *testing.B) {
	db := benchDB(b, 16)
	ctx := context.Background()
	b.SetParallelism(8)
	var baseNanos, baseN atomic.Int64
	// Baseline: the same number of goroutines doing bare INSERTs.
	done := make(chan struct{})
	const perWorker = 50
	workers := 8 * runtime.GOMAXPROCS(0)
	start := time.Now()
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range perWorker {
				if _, err := db.Pool().Exec(ctx, `INSERT INTO bench_baseline (name, created_at) VALUES ($1, now())`, fmt.Sprint("p", w, "-", i)); err != nil {
					return
				}
				baseN.Add(1)
			}
		}()
	}
	for range workers {
		<-done
	}
	baseNanos.Store(int64(time.Since(start)))
	if baseN.Load() == 0 {
		b.Fatal("baseline inserts failed")
	}
	base := time.Duration(baseNanos.Load() / baseN.Load()) // wall time per insert at this parallelism
	var n atomic.Int64
	b.ResetTimer()
	start = time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.CreateRequest(ctx, benchRequest()); err != nil {
				b.Error(err)
				return
			}
			n.Add(1)
		}
	})
	if n.Load() > 0 {
		reportRatio(b, time.Since(start)/time.Duration(n.Load()), base)
	}
}
