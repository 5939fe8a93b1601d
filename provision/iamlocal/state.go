package iamlocal

import (
	"sort"
	"strings"
	"time"
)

// tag is one key/value pair on a role, instance profile or policy.
type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// role is the stored form of an IAM role.
type role struct {
	Name               string            `json:"name"`
	ID                 string            `json:"id"`
	Path               string            `json:"path"`
	Description        string            `json:"description,omitempty"`
	TrustPolicy        string            `json:"trust_policy"`
	MaxSessionDuration int               `json:"max_session_duration"`
	BoundaryARN        string            `json:"boundary_arn,omitempty"`
	Created            time.Time         `json:"created"`
	Tags               []tag             `json:"tags,omitempty"`
	Inline             map[string]string `json:"inline,omitempty"`
	Attached           []string          `json:"attached,omitempty"`
}

// profile is the stored form of an instance profile; Role is the role's
// name or "".
type profile struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	Role    string    `json:"role,omitempty"`
	Tags    []tag     `json:"tags,omitempty"`
}

// stored is what the calls on a named entity need of it (see entity).
type stored interface {
	createdAt() time.Time
	tagList() *[]tag
}

func (r *role) createdAt() time.Time     { return r.Created }
func (r *role) tagList() *[]tag          { return &r.Tags }
func (pr *profile) createdAt() time.Time { return pr.Created }
func (pr *profile) tagList() *[]tag      { return &pr.Tags }

// managedPolicy is a customer-managed policy (one version, v1).
type managedPolicy struct {
	Name        string    `json:"name"`
	ID          string    `json:"id"`
	Path        string    `json:"path"`
	Description string    `json:"description,omitempty"`
	Document    string    `json:"document"`
	Created     time.Time `json:"created"`
	Tags        []tag     `json:"tags,omitempty"`
}

// state is everything the endpoint holds. Role and profile maps are keyed
// by lower-cased name because IAM names are unique regardless of case;
// policies are keyed by ARN.
type state struct {
	Roles    map[string]*role          `json:"roles"`
	Profiles map[string]*profile       `json:"profiles"`
	Policies map[string]*managedPolicy `json:"policies"`
}

func newState() *state {
	st := &state{}
	st.fill()
	return st
}

// fill makes the maps a state file left out.
func (st *state) fill() {
	if st.Roles == nil {
		st.Roles = map[string]*role{}
	}
	if st.Profiles == nil {
		st.Profiles = map[string]*profile{}
	}
	if st.Policies == nil {
		st.Policies = map[string]*managedPolicy{}
	}
}

func nameKey(name string) string { return strings.ToLower(name) }

// sortedKeys returns the keys of m in order, the order List* calls use.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// arnPath is the path as it appears inside an ARN: without the leading "/".
func arnPath(path string) string { return strings.TrimPrefix(path, "/") }

// sortTags orders tags by key, as ListRoleTags returns them.
func sortTags(tags []tag) {
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
}

// mergeTags applies TagRole semantics: a key already present (ignoring
// case) gets the new value, other keys are added.
func mergeTags(have, add []tag) []tag {
	out := append([]tag(nil), have...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if strings.EqualFold(out[i].Key, t.Key) {
				out[i].Value = t.Value
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	return out
}

// removeTags drops the given keys (ignoring case); absent keys are no error.
func removeTags(have []tag, keys []string) []tag {
	var out []tag
	for _, t := range have {
		drop := false
		for _, k := range keys {
			if strings.EqualFold(t.Key, k) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}
