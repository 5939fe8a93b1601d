package provision

import (
	"math/rand/v2"
	"testing"
)

// The universe the property test draws from: two buckets, prefixes with
// the edge cases that matter (no slash, nested, siblings, a `$`), and
// keys and listing prefixes built from them.
var (
	propBuckets  = []string{"bk-one", "bk-two"}
	propPrefixes = []string{"", "a", "a/", "a/b/", "a/c/", "ab/", "logs", "logs/", "x$/"}
	propTails    = []string{"", "b/", "c", "/", "z/"}
	propActions  = []string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"}
)

// randomSpec draws a valid spec of one to four scopes.
func randomSpec(rng *rand.Rand) RoleSpec {
	for {
		var spec RoleSpec
		spec.Name = "prop"
		for range 1 + rng.IntN(4) {
			spec.Buckets = append(spec.Buckets, BucketScope{
				Bucket: propBuckets[rng.IntN(len(propBuckets))],
				Prefix: propPrefixes[rng.IntN(len(propPrefixes))],
				Access: Accesses()[rng.IntN(3)],
			})
		}
		if spec.Validate(DefaultSettings()) == nil {
			return spec
		}
	}
}

// narrowed draws a change of live meant to narrow it: scopes dropped,
// prefixes lengthened, read-write lowered to read or write. Validation
// may refuse the draw (two scopes grown into each other); it is then
// drawn again.
func narrowed(rng *rand.Rand, live RoleSpec) RoleSpec {
	for {
		next := RoleSpec{Name: live.Name}
		for _, s := range live.Buckets {
			if rng.IntN(4) == 0 {
				continue
			}
			s.Prefix += propTails[rng.IntN(len(propTails))]
			if s.Access == AccessReadWrite && rng.IntN(2) == 0 {
				s.Access = []Access{AccessRead, AccessWrite}[rng.IntN(2)]
			}
			next.Buckets = append(next.Buckets, s)
		}
		if len(next.Buckets) > 0 && next.Validate(DefaultSettings()) == nil {
			return next
		}
	}
}

// propRequests are the S3 requests the test asks both policies about:
// every action on every bucket and key, and listings with every prefix
// and with none.
func propRequests() []s3Request {
	var keys []string
	for _, p := range propPrefixes {
		for _, tail := range propTails {
			keys = append(keys, p+tail, p+tail+"k")
		}
	}
	keys = append(keys, "logs-old/k", "abc", "x$y/k")
	var out []s3Request
	for _, b := range propBuckets {
		out = append(out, s3Request{Action: "s3:ListBucket", Resource: "arn:aws:s3:::" + b})
		for _, k := range keys {
			k := k
			out = append(out, s3Request{Action: "s3:ListBucket", Resource: "arn:aws:s3:::" + b, Prefix: &k})
			for _, a := range propActions {
				out = append(out, s3Request{Action: a, Resource: "arn:aws:s3:::" + b + "/" + k})
			}
		}
	}
	return out
}

// TestNoNewAccessProperty proves the containment check against the
// rendered policies: whenever NoNewAccess says a change grants nothing
// new, its policy allows a subset of the S3 requests the live policy
// allows. Half the draws are meant to narrow, half are unrelated specs;
// the test also requires that the evaluator saw some unrelated draws
// widen, so the requests are rich enough to tell.
func TestNoNewAccessProperty(t *testing.T) {
	t.Parallel()
	seed := uint64(20261202)
	rng := rand.New(rand.NewPCG(seed, seed))
	reqs := propRequests()
	var narrowing, widening int
	for i := range 400 {
		liveSpec := randomSpec(rng)
		nextSpec := randomSpec(rng)
		if i%2 == 0 {
			nextSpec = narrowed(rng, liveSpec)
		}
		live, next := plannedFor(t, "", liveSpec), plannedFor(t, "", nextSpec)
		verdict := NoNewAccess(live, next)
		liveAllows, nextAllows := parsePolicy(t, live.Policy.Document), parsePolicy(t, next.Policy.Document)
		wider := false
		for _, r := range reqs {
			if nextAllows(r) && !liveAllows(r) {
				wider = true
				if verdict.NoNewAccess {
					pre := "<none>"
					if r.Prefix != nil {
						pre = *r.Prefix
					}
					t.Fatalf("seed %d draw %d: NoNewAccess(%+v -> %+v) but the new policy allows %s %s (prefix %s) and the live one does not",
						seed, i, liveSpec.Buckets, nextSpec.Buckets, r.Action, r.Resource, pre)
				}
				break
			}
		}
		if verdict.NoNewAccess {
			narrowing++
		}
		if wider {
			widening++
		}
	}
	if narrowing < 150 || widening < 50 {
		t.Fatalf("seed %d: only %d no-new-access and %d widening draws: the generator no longer tests the property", seed, narrowing, widening)
	}
	t.Logf("seed %d: %d no-new-access draws held over %d requests; %d draws widened", seed, narrowing, len(reqs), widening)
}
