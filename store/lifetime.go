package store

import (
	"math"
	"time"
)

// latestStored is the latest expiry the store writes. An expiry asked
// for is at most provision.MaxExpiryYears ahead, but a lifetime stored
// before that bound may reach further. JSON writes times as RFC 3339,
// whose years stop at 9999, in the zone pgx reads them in (the server's):
// the first instant of 31 December 9999 UTC is still in 9999 in every
// zone. Migration 16 caps older rows at it and holds every later write
// to it.
var latestStored = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// afterSeconds is t plus a lifetime of secs seconds, no later than
// latestStored. It does not go through time.Duration, which holds 292
// years: multiplying a longer lifetime into one wraps around.
func afterSeconds(t time.Time, secs int64) time.Time {
	if secs >= latestStored.Unix()-t.Unix() {
		return latestStored
	}
	return time.Unix(t.Unix()+secs, int64(t.Nanosecond())).In(t.Location())
}

// secondsDuration is secs seconds as a time.Duration, the longest one for
// a lifetime too long to hold.
func secondsDuration(secs int64) time.Duration {
	if secs > math.MaxInt64/int64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(secs) * time.Second
}
