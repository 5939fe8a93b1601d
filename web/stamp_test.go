package web

import (
	"math/rand/v2"
	"testing"
	"time"
)

// stamp writes what Format with its layout writes, for any time (in any
// zone, stamped in UTC), years 0 to 9999 digit by digit and others by
// Format itself.
func TestStampIsFormat(t *testing.T) {
	zone := time.FixedZone("east", 5*3600+30*60)
	times := []time.Time{{}, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 3, 4, 5, 0, zone)}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		times = append(times, time.Unix(r.Int64N(400*365*86400)-100*365*86400, 0).In(zone))
	}
	for _, tm := range times {
		if got, want := stamp(tm), tm.UTC().Format("2006-01-02 15:04 UTC"); got != want {
			t.Fatalf("stamp(%v) = %q, want %q", tm, got, want)
		}
	}
}
