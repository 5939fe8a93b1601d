package provision

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reserved by S3 for its own features; a bucket with these cannot be
// created by a customer, so a request naming one is a mistake or a trick.
var (
	reservedBucketPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	reservedBucketSuffixes = []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}
	ipv4Re                 = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
)

func (s RoleSpec) validateScopes(v *problems, set Settings, submitted bool) {
	max := set.MaxScopes
	if max <= 0 {
		max = DefaultSettings().MaxScopes
	}
	switch {
	case len(s.Buckets) == 0:
		v.add("buckets", "at least one bucket is required")
	case len(s.Buckets) > max:
		v.add("buckets", "at most %d bucket scopes may be requested at once (got %d)", max, len(s.Buckets))
	}
	valid := make([]bool, len(s.Buckets))
	for i, b := range s.Buckets {
		field := fmt.Sprintf("buckets[%d]", i)
		okBucket := validateBucketName(v, field+".bucket", b.Bucket)
		if okBucket {
			if ok, why := set.bucketAllowed(b.Bucket); !ok {
				v.add(field+".bucket", "%s", why)
			}
		}
		okPrefix := validatePrefix(v, field+".prefix", b.Prefix, submitted)
		if !b.Access.valid() {
			if b.Access == "" {
				v.add(field+".access", "access is required: read, write or read-write")
			} else {
				v.add(field+".access", "access must be read, write or read-write (got %q)", b.Access)
			}
		}
		valid[i] = okBucket && okPrefix
	}
	// Overlaps are only meaningful between well-formed scopes.
	for j, b := range s.Buckets {
		if !valid[j] {
			continue
		}
		for i := 0; i < j; i++ {
			a := s.Buckets[i]
			if !valid[i] || a.Bucket != b.Bucket {
				continue
			}
			field := fmt.Sprintf("buckets[%d]", j)
			if a.Prefix == b.Prefix {
				v.add(field, "repeats bucket %q%s of scope %d; list each bucket and prefix once with the access you need", b.Bucket, prefixWords(b.Prefix), i+1)
				break
			}
			if strings.HasPrefix(b.Prefix, a.Prefix) || strings.HasPrefix(a.Prefix, b.Prefix) {
				v.add(field, "overlaps scope %d on bucket %q (%s contains %s); merge them into one scope with the access you need",
					i+1, b.Bucket, prefixLabel(shorter(a.Prefix, b.Prefix)), prefixLabel(longer(a.Prefix, b.Prefix)))
				break
			}
		}
	}
}

func prefixWords(p string) string {
	if p == "" {
		return " (whole bucket)"
	}
	return fmt.Sprintf(" with prefix %q", p)
}

func prefixLabel(p string) string {
	if p == "" {
		return "the whole bucket"
	}
	return fmt.Sprintf("prefix %q", p)
}

func shorter(a, b string) string {
	if len(a) <= len(b) {
		return a
	}
	return b
}

func longer(a, b string) string {
	if len(a) > len(b) {
		return a
	}
	return b
}

func (a Access) valid() bool {
	return a == AccessRead || a == AccessWrite || a == AccessReadWrite
}

// validateBucketName applies S3's general purpose bucket naming rules and
// refuses anything that would widen a policy (wildcards, ARNs, policy
// variables). It reports whether the name is well formed.
func validateBucketName(v *problems, field, b string) bool {
	n := len(v.list)
	switch {
	case b == "":
		v.add(field, "bucket name is required")
		return false
	case strings.HasPrefix(strings.ToLower(b), "arn:"):
		v.add(field, "give the bucket name only, not an ARN")
		return false
	case strings.ContainsAny(b, "*?"):
		v.add(field, "bucket name must not contain the wildcards * or ?; name one bucket per scope")
		return false
	case strings.Contains(b, "${"):
		v.add(field, "bucket name must not contain a policy variable (${...})")
		return false
	case strings.Contains(b, "/"):
		v.add(field, "bucket name must not contain /; put the key prefix in the prefix field")
		return false
	}
	// One fault, one message: an upper-case name is not also reported as
	// starting with a wrong character. The first rule broken is reported.
	bad := firstBad(b, func(r rune) bool { return r == '.' || r == '-' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') })
	switch {
	case bad != "":
		v.add(field, "bucket name may contain only lower-case letters, digits, dots and hyphens (found %s)", bad)
	case len(b) < 3 || len(b) > 63:
		v.add(field, "bucket name must be 3 to 63 characters long (it has %d)", utf8.RuneCountInString(b))
	case !alnumByte(b[0]) || !alnumByte(b[len(b)-1]):
		v.add(field, "bucket name must start and end with a lower-case letter or a digit")
	case strings.Contains(b, ".."):
		v.add(field, "bucket name must not contain two dots in a row")
	case ipv4Re.MatchString(b):
		v.add(field, "bucket name must not look like an IP address")
	default:
		for _, p := range reservedBucketPrefixes {
			if strings.HasPrefix(b, p) {
				v.add(field, "bucket names starting with %q are reserved by AWS", p)
				return false
			}
		}
		for _, s := range reservedBucketSuffixes {
			if strings.HasSuffix(b, s) {
				v.add(field, "bucket names ending with %q are reserved by AWS", s)
				return false
			}
		}
	}
	return len(v.list) == n
}

func alnumByte(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }

// validatePrefix checks an object key prefix. Keys are UTF-8 of at most
// 1024 bytes; `*` and `?` are refused because IAM reads them as wildcards
// in a resource ARN; a leading `/`, `.` or `..` segments and control
// characters are refused because they never mean what the requester
// expects. `$` is allowed and rendered literally (as ${$}). A submitted
// prefix may not hold a backtick either: AWS advises against it in keys,
// and the words quote values with it (they escape it in a stored prefix).
func validatePrefix(v *problems, field, p string, submitted bool) bool {
	n := len(v.list)
	if p == "" {
		return true
	}
	if !utf8.ValidString(p) {
		v.add(field, "prefix is not valid UTF-8 text")
		return false
	}
	if len(p) > maxPrefixBytes {
		v.add(field, "prefix must be at most %d bytes long (it has %d)", maxPrefixBytes, len(p))
	}
	if strings.HasPrefix(strings.ToLower(p), "arn:") {
		v.add(field, "give the key prefix only, not an ARN")
	}
	if strings.ContainsAny(p, "*?") {
		v.add(field, "prefix must not contain * or ? (IAM would read them as wildcards)")
	}
	if submitted && strings.Contains(p, "`") {
		v.add(field, "prefix must not contain a backtick (`); AWS advises against it in object keys")
	}
	if strings.HasPrefix(p, "/") {
		v.add(field, "prefix must not start with / (S3 keys do not; write \"logs/\" rather than \"/logs/\")")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			v.add(field, "prefix must not contain %q as a path segment", seg)
			break
		}
	}
	if bad := firstBad(p, func(r rune) bool { return !unicode.IsControl(r) && r != utf8.RuneError }); bad != "" {
		v.add(field, "prefix must not contain %s", bad)
	}
	return len(v.list) == n
}

// sortedScopes returns a copy of scopes ordered by bucket, then prefix, so
// rendering does not depend on the order a requester typed them in.
func sortedScopes(scopes []BucketScope) []BucketScope {
	out := append([]BucketScope(nil), scopes...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Bucket != out[j].Bucket {
			return out[i].Bucket < out[j].Bucket
		}
		return out[i].Prefix < out[j].Prefix
	})
	return out
}
