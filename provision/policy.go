package provision

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// policyDocument is an IAM policy in the shape rolegate renders. Field
// order and sorted map keys make json.Marshal deterministic.
type policyDocument struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string                         `json:"Sid,omitempty"`
	Effect    string                         `json:"Effect"`
	Principal map[string]string              `json:"Principal,omitempty"`
	Action    []string                       `json:"Action"`
	Resource  []string                       `json:"Resource,omitempty"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

const policyVersion = "2012-10-17"

// The actions of each access level: least privilege, documented in
// README.md. Listing is on the bucket ARN, the rest on object ARNs.
var (
	actionsList   = []string{"s3:ListBucket"}
	actionsGet    = []string{"s3:GetObject"}
	actionsPut    = []string{"s3:AbortMultipartUpload", "s3:PutObject"}
	actionsDelete = []string{"s3:DeleteObject"}
)

// grantKind is one kind of statement a scope contributes to the policy.
// The policy renderer and the plain-language summary (words.go) both
// read a scope through Access.grants, so the words always say what the
// JSON grants.
type grantKind int

const (
	grantList   grantKind = iota // s3:ListBucket on the bucket (s3:prefix-limited with a prefix)
	grantGet                     // s3:GetObject on BUCKET/PREFIX*
	grantPut                     // s3:PutObject, s3:AbortMultipartUpload on BUCKET/PREFIX*
	grantDelete                  // s3:DeleteObject on BUCKET/PREFIX*
)

// grants lists what a level of access puts in the policy, in statement order.
func (a Access) grants() []grantKind {
	switch a {
	case AccessRead:
		return []grantKind{grantList, grantGet}
	case AccessWrite:
		return []grantKind{grantPut}
	case AccessReadWrite:
		return []grantKind{grantList, grantGet, grantPut, grantDelete}
	}
	return nil
}

// has reports whether a puts g in the policy.
func (a Access) has(g grantKind) bool { return slices.Contains(a.grants(), g) }

// renderTrustPolicy is the trust policy of every role: EC2 may assume it.
func renderTrustPolicy() string {
	doc, err := marshalPolicy(policyDocument{Version: policyVersion, Statement: []statement{{
		Effect:    "Allow",
		Principal: map[string]string{"Service": "ec2.amazonaws.com"},
		Action:    []string{"sts:AssumeRole"},
	}}})
	if err != nil {
		panic(err) // a fixed document always marshals
	}
	return doc
}

// renderPermissionPolicy renders the one inline policy for scopes, which
// must already be sorted by sortedScopes. Statement IDs depend only on the
// sorted scopes, so the same spec always gives byte-identical JSON.
func renderPermissionPolicy(scopes []BucketScope, partition string) (string, error) {
	s3arn := "arn:" + partition + ":s3:::"
	var listWhole, get, put, del []string
	var listPrefixed []statement
	for i := 0; i < len(scopes); {
		// Group the prefixed read scopes of one bucket into one listing
		// statement with one s3:prefix condition.
		bucket := scopes[i].Bucket
		var prefixes []string
		for ; i < len(scopes) && scopes[i].Bucket == bucket; i++ {
			sc := scopes[i]
			obj := s3arn + sc.Bucket + "/" + policyLiteral(sc.Prefix) + "*"
			for _, g := range sc.Access.grants() {
				switch g {
				case grantList:
					if sc.Prefix == "" {
						listWhole = append(listWhole, s3arn+sc.Bucket)
					} else {
						prefixes = append(prefixes, policyLiteral(sc.Prefix)+"*")
					}
				case grantGet:
					get = append(get, obj)
				case grantPut:
					put = append(put, obj)
				case grantDelete:
					del = append(del, obj)
				}
			}
		}
		if len(prefixes) > 0 {
			listPrefixed = append(listPrefixed, statement{
				Sid:       fmt.Sprintf("ListPrefixes%d", len(listPrefixed)+1),
				Effect:    "Allow",
				Action:    actionsList,
				Resource:  []string{s3arn + bucket},
				Condition: map[string]map[string][]string{"StringLike": {"s3:prefix": sortedCopy(prefixes)}},
			})
		}
	}
	doc := policyDocument{Version: policyVersion}
	add := func(sid string, actions, resources []string) {
		if len(resources) > 0 {
			doc.Statement = append(doc.Statement, statement{Sid: sid, Effect: "Allow", Action: actions, Resource: sortedCopy(resources)})
		}
	}
	add("ListBuckets", actionsList, listWhole)
	doc.Statement = append(doc.Statement, listPrefixed...)
	add("GetObjects", actionsGet, get)
	add("PutObjects", actionsPut, put)
	add("DeleteObjects", actionsDelete, del)
	if len(doc.Statement) == 0 {
		return "", fmt.Errorf("no bucket scopes")
	}
	return marshalPolicy(doc)
}

// policyLiteral makes s mean itself inside an IAM policy: `$` starts a
// policy variable, so it is written as IAM's escape ${$}. (`*` and `?` are
// refused by validation instead.)
func policyLiteral(s string) string {
	return strings.ReplaceAll(s, "$", "${$}")
}

func sortedCopy(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return dedupe(out)
}

// marshalPolicy renders compact JSON with every non-ASCII character
// escaped as \uXXXX, so the document stays within IAM's policy character
// set (\t \n \r \x20-\xFF) whatever the prefixes contain.
func marshalPolicy(doc policyDocument) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return "", err
	}
	out := bytes.TrimRight(buf.Bytes(), "\n")
	if !slices.ContainsFunc(out, func(c byte) bool { return c >= utf8.RuneSelf }) {
		return string(out), nil // ASCII already, as almost every policy is
	}
	var b strings.Builder
	b.Grow(len(out) + 16)
	for _, r := range string(out) {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String(), nil
}

// iamPolicySize counts a policy document as IAM does against its size
// limits: every character except white space.
func iamPolicySize(doc string) int {
	n := 0
	for _, r := range doc {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}
