package provision

import "time"

// MaxExpiryYears is how far ahead an expiry may be: a requester's, a
// change's and an approver's alike. Ten years is the longest lifetime
// rolegate gives anything else (API tokens, the access review interval);
// a role meant to outlive it asks for no expiry, which approvers see
// flagged as such. The bound keeps every expiry far inside what the
// arithmetic and formats in its way can hold: a lifetime in seconds
// multiplied into a time.Duration (at most 292 years) and RFC 3339 in
// JSON (at most the year 9999).
const MaxExpiryYears = 10

// LatestExpiry is the latest expiry that may be asked for at now.
func LatestExpiry(now time.Time) time.Time { return now.AddDate(MaxExpiryYears, 0, 0) }

// CheckExpiry checks at as an expiry asked for at now: in the future and
// no later than LatestExpiry(now). It returns a *ValidationError at
// expires_at, or nil.
func CheckExpiry(at, now time.Time) error {
	var v problems
	checkExpiry(&v, at, now)
	return v.err()
}

func checkExpiry(v *problems, at, now time.Time) {
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	switch latest := LatestExpiry(now); {
	case !at.After(now):
		v.add("expires_at", "expiry must be in the future (it is %s)", stamp(at))
	case at.After(latest):
		v.add("expires_at", "expiry must be at most %d years ahead, no later than %s (it is %s); for a role that should not expire, set no expiry",
			MaxExpiryYears, stamp(latest), stamp(at))
	}
}
