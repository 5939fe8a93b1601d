package provision

import (
	"encoding/json"
	"strings"
	"testing"
)

// s3Request is one S3 call as IAM authorizes it: the action, the resource
// ARN, and the s3:prefix condition key of a listing (nil when absent).
type s3Request struct {
	Action, Resource string
	Prefix           *string
}

// evalPolicy is a small IAM evaluator for the statements rolegate renders:
// Allow statements with Action and Resource lists (IAM wildcards * and ?,
// the escape ${$}) and StringLike conditions. Anything else it does not
// know fails the test rather than being guessed at, so a change to the
// rendering cannot slip past the property test unevaluated.
func evalPolicy(t testing.TB, doc string, req s3Request) bool {
	t.Helper()
	return parsePolicy(t, doc)(req)
}

// parsePolicy reads doc once and returns its evaluator.
func parsePolicy(t testing.TB, doc string) func(s3Request) bool {
	t.Helper()
	var pd struct {
		Statement []struct {
			Effect    string
			Action    []string
			Resource  []string
			Condition map[string]map[string][]string
		}
	}
	if err := json.Unmarshal([]byte(doc), &pd); err != nil {
		t.Fatalf("policy: %v", err)
	}
	for _, st := range pd.Statement {
		if st.Effect != "Allow" {
			t.Fatalf("evaluator knows Allow statements only, got %q", st.Effect)
		}
		for op, keys := range st.Condition {
			if op != "StringLike" {
				t.Fatalf("evaluator knows StringLike only, got %q", op)
			}
			for key, values := range keys {
				if key != "s3:prefix" {
					t.Fatalf("evaluator knows s3:prefix only, got %q", key)
				}
				for _, v := range append(values, append(st.Action, st.Resource...)...) {
					iamMatch(t, v, "") // refuses unknown policy variables now, not mid-run
				}
			}
		}
	}
	return func(req s3Request) bool {
		for _, st := range pd.Statement {
			if !anyMatch(t, st.Action, req.Action) || !anyMatch(t, st.Resource, req.Resource) {
				continue
			}
			ok := true
			for _, keys := range st.Condition {
				for _, values := range keys {
					// A condition on a key the request lacks does not match.
					if req.Prefix == nil || !anyMatch(t, values, *req.Prefix) {
						ok = false
					}
				}
			}
			if ok {
				return true
			}
		}
		return false
	}
}

func anyMatch(t testing.TB, patterns []string, s string) bool {
	for _, p := range patterns {
		if iamMatch(t, p, s) {
			return true
		}
	}
	return false
}

// iamMatch matches s against an IAM pattern: * any run, ? one character,
// ${$} a literal $ (any other policy variable fails the test).
func iamMatch(t testing.TB, pattern, s string) bool {
	type tok struct {
		lit  rune
		kind byte // 'l' literal, '*', '?'
	}
	var toks []tok
	for i := 0; i < len(pattern); {
		switch {
		case strings.HasPrefix(pattern[i:], "${$}"):
			toks, i = append(toks, tok{'$', 'l'}), i+4
		case strings.HasPrefix(pattern[i:], "${"):
			t.Fatalf("evaluator knows the ${$} variable only: %q", pattern)
		case pattern[i] == '*' || pattern[i] == '?':
			toks, i = append(toks, tok{kind: pattern[i]}), i+1
		default:
			r := []rune(pattern[i:])[0]
			toks, i = append(toks, tok{r, 'l'}), i+len(string(r))
		}
	}
	rs := []rune(s)
	// toks[i:] matches rs[j:]; rendered patterns hold one * at most, so
	// plain backtracking is quick.
	var match func(i, j int) bool
	match = func(i, j int) bool {
		switch {
		case i == len(toks):
			return j == len(rs)
		case toks[i].kind == '*':
			return match(i+1, j) || (j < len(rs) && match(i, j+1))
		case j == len(rs):
			return false
		case toks[i].kind == '?':
			return match(i+1, j+1)
		default:
			return toks[i].lit == rs[j] && match(i+1, j+1)
		}
	}
	return match(0, 0)
}

// TestEvalPolicy checks the evaluator on rendered policies whose meaning
// the README documents, prefix edge cases included.
func TestEvalPolicy(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	obj := func(action, bucket, key string) s3Request {
		return s3Request{Action: action, Resource: "arn:aws:s3:::" + bucket + "/" + key}
	}
	list := func(bucket string, prefix *string) s3Request {
		return s3Request{Action: "s3:ListBucket", Resource: "arn:aws:s3:::" + bucket, Prefix: prefix}
	}
	p := plannedFor(t, "", RoleSpec{Buckets: []BucketScope{
		{Bucket: "logs", Prefix: "logs/", Access: AccessRead},
		{Bucket: "raw", Prefix: "in", Access: AccessReadWrite},
		{Bucket: "drop", Prefix: "a$/", Access: AccessWrite},
		{Bucket: "whole", Access: AccessRead},
	}})
	for _, tt := range []struct {
		req  s3Request
		want bool
	}{
		{obj("s3:GetObject", "logs", "logs/x"), true},
		{obj("s3:GetObject", "logs", "logs-old/x"), false},
		{obj("s3:PutObject", "logs", "logs/x"), false},
		{list("logs", str("logs/2026/")), true},
		{list("logs", str("other/")), false},
		{list("logs", nil), false},
		{obj("s3:GetObject", "raw", "inbox/x"), true}, // `in` has no slash: it matches `inbox/`
		{obj("s3:DeleteObject", "raw", "in/x"), true},
		{obj("s3:AbortMultipartUpload", "raw", "in/x"), true},
		{obj("s3:PutObject", "drop", "a$/x"), true},
		{obj("s3:PutObject", "drop", "ab/x"), false},
		{obj("s3:GetObject", "drop", "a$/x"), false},
		{list("drop", str("a$/")), false},
		{list("whole", nil), true},
		{list("whole", str("any")), true},
		{obj("s3:GetObject", "whole", "k"), true},
		{obj("s3:GetObject", "whole2", "k"), false},
	} {
		if got := evalPolicy(t, p.Policy.Document, tt.req); got != tt.want {
			pre := "<none>"
			if tt.req.Prefix != nil {
				pre = *tt.req.Prefix
			}
			t.Errorf("%s %s (prefix %s) = %v, want %v", tt.req.Action, tt.req.Resource, pre, got, tt.want)
		}
	}
}
