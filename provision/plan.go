package provision

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// PlanMeta is who and what a Plan is for: it becomes the ownership tags of
// the IAM resources and the header of the Terraform.
type PlanMeta struct {
	// RequestID identifies the request; it is written to the
	// rolegate:request-id tag and, with the installation's tag
	// (Settings.Installation), proves ownership on later runs.
	RequestID string
	Requester string
	Approvers []string
	// Time is when the request was approved; zero means not approved yet:
	// the Terraform header then claims no approval. A requested expiry is
	// checked against it (against the current time when zero).
	Time time.Time
}

// Tag is one IAM tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// RolePlan is the desired IAM role.
type RolePlan struct {
	Name                   string
	Path                   string
	Description            string
	TrustPolicy            string // JSON, as sent to IAM
	MaxSessionDuration     int32
	PermissionsBoundaryARN string // empty: no boundary
	Tags                   []Tag  // sorted by key
}

// InlinePolicy is the desired inline policy of the role.
type InlinePolicy struct {
	Name     string
	Document string // JSON, as sent to IAM
}

// InstanceProfilePlan is the desired instance profile holding the role.
type InstanceProfilePlan struct {
	Name     string
	Path     string
	RoleName string
	Tags     []Tag
}

// Plan is the desired IAM state for one approved request, built once by
// NewPlan. The reconciler and Terraform both render from it.
type Plan struct {
	Meta            PlanMeta
	Role            RolePlan
	Policy          InlinePolicy
	ManagedPolicies []string // ARNs, sorted
	InstanceProfile InstanceProfilePlan
	Scopes          []BucketScope // sorted by bucket, then prefix
	// ExpiresAt is the spec's requested expiry, for Summary; it is in
	// neither the IAM tags nor the Terraform.
	ExpiresAt *time.Time
	// Partition and AccountID (if known) come from Settings and let the
	// plan predict ARNs before anything exists.
	Partition string
	AccountID string
	// Account is the account the plan is for (the spec's, or the
	// default); its RoleARN says how rolegate reaches it.
	Account Account
	// Installation is Settings.Installation, in the tags too.
	Installation string
	// AdoptsUpTo is Settings.AdoptsUpTo: with an Installation, the plan
	// takes a role or profile without the installation tag for its own
	// only when its request ID is a number up to it (owns).
	AdoptsUpTo int64
}

// NewPlan validates spec against set and builds the Plan. It plans what a
// stored spec may hold and Validate refuses in a new one (a backtick in a
// prefix): a role approved before must still be described, provisioned
// and removed; callers planning a spec being submitted call Validate too.
// It returns a *ValidationError when the spec or the settings are invalid,
// and a plain error when meta lacks a usable request ID.
func NewPlan(spec RoleSpec, set Settings, meta PlanMeta) (Plan, error) {
	if err := set.Validate(); err != nil {
		return Plan{}, fmt.Errorf("settings: %w", err)
	}
	if meta.RequestID == "" || len(meta.RequestID) > 256 || !tagCharsRe.MatchString(meta.RequestID) {
		return Plan{}, errors.New("plan: request ID must be 1 to 256 letters, digits, spaces or _ . : / = + - @")
	}
	at := time.Now()
	if !meta.Time.IsZero() {
		meta.Time = meta.Time.UTC()
		at = meta.Time
	}
	doc, err := spec.validated(set, at, false)
	if err != nil {
		return Plan{}, err
	}
	set, acct, _ := set.In(spec.Account) // known: validated
	acct.Tags = nil                      // the plan's tags already hold them
	name := set.NamePrefix + spec.Name
	tags := planTags(set, meta)
	var managed []string
	for _, p := range spec.ManagedPolicies {
		arn, err := set.managedPolicyARN(p)
		if err != nil {
			return Plan{}, err // unreachable after validate
		}
		managed = append(managed, arn)
	}
	sort.Strings(managed)
	session := spec.MaxSessionDuration
	if session == 0 {
		session = minSession
	}
	desc := spec.Description
	if desc == "" {
		desc = "rolegate role for request " + meta.RequestID
	}
	p := Plan{
		Meta: meta,
		Role: RolePlan{
			Name: name, Path: set.RolePath, Description: desc, TrustPolicy: renderTrustPolicy(),
			MaxSessionDuration: session, PermissionsBoundaryARN: set.PermissionsBoundaryARN, Tags: tags,
		},
		Policy:          InlinePolicy{Name: InlinePolicyName, Document: doc},
		ManagedPolicies: managed,
		InstanceProfile: InstanceProfilePlan{Name: name, Path: set.RolePath, RoleName: name, Tags: tags},
		Scopes:          sortedScopes(spec.Buckets),
		Partition:       set.partition(),
		AccountID:       set.AccountID,
		Account:         acct,
		Installation:    set.Installation,
		AdoptsUpTo:      set.AdoptsUpTo,
	}
	if spec.ExpiresAt != nil {
		t := spec.ExpiresAt.UTC()
		p.ExpiresAt = &t
	}
	p.Meta.Approvers = append([]string(nil), meta.Approvers...)
	return p, nil
}

// planTags are the settings' tags and rolegate's ownership tags (the
// installation's only when the settings name one). The
// expiry is not among them: it is known only at activation, counts from
// there, may change with every extension, and rolegate's expiry job (not
// a tag) enforces it; a tag would make the Terraform approvers review
// differ from what is stored, and every extension a drift.
func planTags(set Settings, meta PlanMeta) []Tag {
	tags := make([]Tag, 0, len(set.Tags)+3)
	for _, k := range sortedKeys(set.Tags) {
		tags = append(tags, Tag{k, set.Tags[k]})
	}
	tags = append(tags, Tag{TagManagedBy, ManagedByValue}, Tag{TagRequestID, meta.RequestID})
	if set.Installation != "" {
		tags = append(tags, Tag{TagInstallation, set.Installation})
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	return tags
}

// RoleARN is the role's ARN, with `*` for the account when it is unknown.
func (p Plan) RoleARN() string {
	return p.iamARN("role", p.Role.Path, p.Role.Name)
}

// InstanceProfileARN is the profile's ARN, with `*` for an unknown account.
func (p Plan) InstanceProfileARN() string {
	return p.iamARN("instance-profile", p.InstanceProfile.Path, p.InstanceProfile.Name)
}

func (p Plan) iamARN(kind, path, name string) string {
	return iamARNPrefix(p.Partition, p.AccountID) + kind + path + name
}

// iamARNPrefix is "arn:<partition>:iam::<account>:", the start of every
// IAM ARN: an empty partition is "aws", an empty account "*" (any).
func iamARNPrefix(partition, account string) string {
	if partition == "" {
		partition = "aws"
	}
	if account == "" {
		account = "*"
	}
	return "arn:" + partition + ":iam::" + account + ":"
}

// Summary is a short human-readable description of the plan, as printed by
// `rolegate render`.
func (p Plan) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Request:          %s\n", p.Meta.RequestID)
	fmt.Fprintf(&b, "Role:             %s%s\n", p.Role.Path, p.Role.Name)
	fmt.Fprintf(&b, "Instance profile: %s%s\n", p.InstanceProfile.Path, p.InstanceProfile.Name)
	fmt.Fprintf(&b, "Description:      %s\n", p.Role.Description)
	fmt.Fprintf(&b, "Max session:      %ds\n", p.Role.MaxSessionDuration)
	if p.Role.PermissionsBoundaryARN != "" {
		fmt.Fprintf(&b, "Boundary:         %s\n", p.Role.PermissionsBoundaryARN)
	}
	if p.ExpiresAt != nil {
		fmt.Fprintf(&b, "Expires:          %s\n", p.ExpiresAt.Format(time.RFC3339))
	}
	b.WriteString("Scopes:\n")
	for _, s := range p.Scopes {
		where := "s3://" + s.Bucket + "/" + s.Prefix
		fmt.Fprintf(&b, "  %-10s %s\n", s.Access, where)
	}
	for _, m := range p.ManagedPolicies {
		fmt.Fprintf(&b, "Managed policy:   %s\n", m)
	}
	b.WriteString("Tags:\n")
	for _, t := range p.Role.Tags {
		fmt.Fprintf(&b, "  %s = %s\n", t.Key, t.Value)
	}
	return b.String()
}
