// Package provision is rolegate's core: what is asked (RoleSpec and its
// BucketScopes), its validation, the Plan that describes the desired IAM
// state, the policy JSON and Terraform rendered from that one Plan, and the
// reconciler that applies or destroys a Plan through the IAM API.
//
// It imports no other rolegate package: no PostgreSQL, no HTTP handlers.
package provision

import "time"

// Access is the level of access a BucketScope grants.
type Access string

// The access levels. Their exact IAM actions are documented in README.md.
const (
	AccessRead      Access = "read"
	AccessWrite     Access = "write"
	AccessReadWrite Access = "read-write"
)

// Accesses lists every access level in the order forms offer them.
func Accesses() []Access { return []Access{AccessRead, AccessWrite, AccessReadWrite} }

// BucketScope is one bucket (and optionally a key prefix inside it) the role
// may reach, with the level of access.
type BucketScope struct {
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix,omitempty"`
	Access Access `json:"access"`
}

// The session lengths IAM allows a role, in seconds: RoleSpec's
// MaxSessionDuration is 0 (IAM's default, one hour) or in this range.
const (
	MinSessionSeconds = minSession
	MaxSessionSeconds = maxSession
)

// RoleSpec is what a requester asks for: an EC2 instance role reaching the
// listed bucket scopes. Its JSON form is the one the REST API and
// `rolegate render --spec` use.
type RoleSpec struct {
	// Name is the role name as the requester typed it; the configured name
	// prefix is added when the Plan is built.
	Name        string        `json:"name"`
	Description string        `json:"description,omitempty"`
	Buckets     []BucketScope `json:"buckets"`
	// MaxSessionDuration in seconds; 0 means IAM's default (3600).
	MaxSessionDuration int32 `json:"max_session_duration,omitempty"`
	// ManagedPolicies are names or ARNs from the allowed list in Settings.
	ManagedPolicies []string `json:"managed_policies,omitempty"`
	// ExpiresAt, when set, is when the role should be revoked.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Account is the short name of the account the role is created in;
	// empty means the default account (Settings.In).
	Account string `json:"account,omitempty"`
}
