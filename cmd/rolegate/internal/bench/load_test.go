package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 51, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{ms(1, 2, 3, 4), 0, 1 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
	} {
		if got := percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
		}
	}
}

func TestDrive(t *testing.T) {
	var calls atomic.Int64
	seen := make([]atomic.Bool, 100)
	r, err := drive(context.Background(), 100, 8, func(_ context.Context, i int) error {
		calls.Add(1)
		seen[i].Store(true)
		return nil
	})
	if err != nil || r.n != 100 || calls.Load() != 100 {
		t.Fatalf("drive = %+v, %v after %d calls", r, err, calls.Load())
	}
	for i := range seen {
		if !seen[i].Load() {
			t.Fatalf("operation %d never ran", i)
		}
	}
	boom := errors.New("boom")
	if _, err := drive(context.Background(), 1000, 4, func(_ context.Context, i int) error {
		if i == 10 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Fatalf("drive with a failing operation = %v, want boom", err)
	}
}
