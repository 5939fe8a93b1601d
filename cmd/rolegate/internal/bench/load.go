package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// loadResult is one timed run: how many operations, the wall time, and
// the latency percentiles.
type loadResult struct {
	n             int
	wall          time.Duration
	p50, p99, max time.Duration
}

func (r loadResult) rate() float64 { return float64(r.n) / r.wall.Seconds() }

func (r loadResult) String() string {
	return fmt.Sprintf("%d in %s = %.1f/s, p50 %s, p99 %s, max %s", r.n, r.wall.Round(time.Millisecond), r.rate(),
		fmtMS(r.p50), fmtMS(r.p99), fmtMS(r.max))
}

// drive runs op for i in [0, n) from conc goroutines and times each call.
func drive(ctx context.Context, n, conc int, op func(ctx context.Context, i int) error) (loadResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan int)
	lat := make([][]time.Duration, conc)
	errs := make([]error, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t := time.Now()
				if err := op(ctx, i); err != nil {
					errs[g] = err
					cancel()
					for range work {
					}
					return
				}
				lat[g] = append(lat[g], time.Since(t))
			}
		}()
	}
feed:
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	wall := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return loadResult{}, err
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	return loadResult{n: len(all), wall: wall, p50: percentile(all, 50), p99: percentile(all, 99), max: percentile(all, 100)}, nil
}

// percentile returns the nearest-rank p-th percentile of sorted: the
// smallest value with at least p% of the values at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100 + 0.9999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func fmtMS(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}
