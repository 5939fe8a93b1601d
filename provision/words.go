package provision

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Summary is a plan in plain language: what the role may do, for whom, for
// how long. It is derived from the plan through the same scope-to-grant
// mapping the policy is rendered from (Access.grants), so the words never
// say more or less than the JSON.
type Summary struct {
	// Access has one clause per grant group of each scope, in the plan's
	// scope order: "list keys under `reports/` in `analytics-raw`",
	// "read objects under `analytics-raw/reports/`".
	Access []string
	// Managed names the attached managed policies (the name of each ARN).
	Managed []string
	// Session is the longest session: "sessions of up to 1 hour".
	Session string
	// Expiry is "expires 2027-01-31 00:00 UTC" or "never expires".
	Expiry string
	// Trust says who may use the role: "EC2 instances in account 123456789012".
	Trust string
}

// Describe says what p grants, in words. The expiry is p.ExpiresAt: the
// caller sets the expiry in force (or asked for) before describing.
func Describe(p Plan) Summary {
	s := Summary{Session: "sessions of up to " + hoursText(p.Role.MaxSessionDuration), Trust: trustWords(p)}
	for _, sc := range p.Scopes {
		s.Access = append(s.Access, scopeClauses(sc)...)
	}
	for _, arn := range p.ManagedPolicies {
		s.Managed = append(s.Managed, ManagedPolicyName(arn))
	}
	s.Expiry = "never expires"
	if p.ExpiresAt != nil {
		s.Expiry = "expires " + p.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	return s
}

// Text is the whole summary as one paragraph.
func (s Summary) Text() string {
	var b strings.Builder
	b.WriteString(capitalize(strings.Join(s.Access, "; ")))
	b.WriteString(". ")
	if len(s.Managed) > 0 {
		fmt.Fprintf(&b, "Also the managed %s %s. ", pluralWord(len(s.Managed), "policy", "policies"), strings.Join(s.Managed, ", "))
	}
	fmt.Fprintf(&b, "For %s, %s; %s.", s.Trust, s.Session, s.Expiry)
	return b.String()
}

// Short is the summary in one line for lists: the access clauses and,
// when there are any, the number of managed policies.
func (s Summary) Short() string {
	out := strings.Join(s.Access, "; ")
	if n := len(s.Managed); n > 0 {
		out += fmt.Sprintf("; +%d managed %s", n, pluralWord(n, "policy", "policies"))
	}
	return out + "; " + s.Expiry
}

// ManagedPolicyName is the name of a managed policy ARN (what follows the
// last slash); a name is returned as it is.
func ManagedPolicyName(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 && strings.HasPrefix(arn, "arn:") {
		return arn[i+1:]
	}
	return arn
}

// grantVerb is each object grant in words; listing has its own phrase.
var grantVerb = map[grantKind]string{grantGet: "read", grantPut: "write", grantDelete: "delete"}

// scopeClauses describes one scope: its listing, then its object grants
// joined ("read, write and delete objects under `b/p`").
func scopeClauses(sc BucketScope) []string {
	var out, verbs []string
	for _, g := range sc.Access.grants() {
		if g == grantList {
			out = append(out, grantPhrase(g, sc.Bucket, sc.Prefix))
			continue
		}
		verbs = append(verbs, grantVerb[g])
	}
	if len(verbs) > 0 {
		out = append(out, objectsPhrase(andList(verbs), sc.Bucket, sc.Prefix))
	}
	return out
}

// grantPhrase describes one grant of one scope.
func grantPhrase(g grantKind, bucket, prefix string) string {
	if g == grantList {
		if prefix == "" {
			return "list every key in " + Quoted(bucket)
		}
		if !strings.HasSuffix(prefix, "/") {
			return fmt.Sprintf("list keys starting with %s in %s", Quoted(prefix), Quoted(bucket))
		}
		return fmt.Sprintf("list keys under %s in %s", Quoted(prefix), Quoted(bucket))
	}
	return objectsPhrase(grantVerb[g], bucket, prefix)
}

// objectsPhrase says which objects verbs apply to. A prefix without a
// trailing slash matches more than one folder (`logs` also matches
// `logs-old/`, as the policy's `logs*` does), so it is not called a
// folder ("under").
func objectsPhrase(verbs, bucket, prefix string) string {
	switch {
	case prefix == "":
		return fmt.Sprintf("%s any object in %s", verbs, Quoted(bucket))
	case !strings.HasSuffix(prefix, "/"):
		return fmt.Sprintf("%s objects whose keys start with %s in %s", verbs, Quoted(prefix), Quoted(bucket))
	}
	return fmt.Sprintf("%s objects under %s", verbs, Quoted(bucket+"/"+prefix))
}

// Quoted puts a value of a spec (a bucket, a prefix, bucket/prefix)
// between backticks for the words, and for anything else that names one
// in a line people read (a change's scope lines, a dashboard row), so
// that no value can end its quote and go on in rolegate's voice, nor look
// as if it did. Inside the quote a backtick, and a character that looks
// like one, is written as its code point (\u0060); a backslash as \\, so
// no value can pass for such an escape; line breaks and tabs as \n, \r,
// \t; other control characters, invisible formatting characters
// (bidirectional overrides, zero-width spaces) and line separators as
// \uXXXX; a combining mark that would sit on the opening backtick
// likewise; bytes that are not UTF-8 as \xXX. Everything else, the usual
// prefixes and their spaces, parentheses and semicolons included, is
// quoted as it is. Validation refuses backticks and control characters in
// new prefixes; this keeps the words true for a value stored before,
// whatever it holds. It never fails.
func Quoted(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('`')
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02X`, v[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case strings.ContainsRune(backtickLookalikes, r) || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) ||
			(i == 0 && unicode.In(r, unicode.Mn, unicode.Me)):
			if r > 0xFFFF {
				fmt.Fprintf(&b, `\U%08X`, r)
			} else {
				fmt.Fprintf(&b, `\u%04X`, r)
			}
		default:
			b.WriteRune(r)
		}
		i += size
	}
	b.WriteByte('`')
	return b.String()
}

// backtickLookalikes are the backtick and the characters that pass for
// one in most fonts: the modifier letter grave accent, the Greek varia,
// the reversed prime and the fullwidth grave accent.
const backtickLookalikes = "`\u02CB\u1FEF\u2035\uFF40"

func trustWords(p Plan) string {
	if p.AccountID == "" {
		return "EC2 instances in this account"
	}
	return "EC2 instances in account " + p.AccountID
}

// hoursText says a session length: "1 hour", "12 hours".
func hoursText(secs int32) string {
	if secs == 0 {
		secs = minSession
	}
	if secs%3600 != 0 {
		return (time.Duration(secs) * time.Second).String()
	}
	return fmt.Sprintf("%d %s", secs/3600, pluralWord(int(secs/3600), "hour", "hours"))
}

func andList(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
