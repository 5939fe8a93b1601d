package provision

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Settings are the organisation's guardrails and the fixed parts of every
// role rolegate creates. They come from flags and the environment (see
// cmd/rolegate) and are checked once with Validate at start-up.
type Settings struct {
	// AllowedBuckets are bucket name patterns (`*` matches any run of
	// characters, e.g. `team-*`) a request may name. Empty allows any bucket
	// not denied.
	AllowedBuckets []string
	// DeniedBuckets are bucket name patterns no request may name, even when
	// they also match AllowedBuckets.
	DeniedBuckets []string
	// RolePath is the IAM path of every role and instance profile, e.g.
	// `/rolegate/`. It scopes ServicePolicy.
	RolePath string
	// NamePrefix is put in front of every requested role name.
	NamePrefix string
	// PermissionsBoundaryARN, when set, is attached to every role as its
	// permissions boundary.
	PermissionsBoundaryARN string
	// AllowedManagedPolicies are the managed policies (names of AWS managed
	// policies or full ARNs) a request may opt into.
	AllowedManagedPolicies []string
	// Tags are added to every role and instance profile. They cannot
	// override rolegate's own tags (managed-by, rolegate:*).
	Tags map[string]string
	// MaxScopes is the most bucket scopes one request may ask for.
	MaxScopes int
	// Partition is the AWS partition used in ARNs: aws, aws-cn or aws-us-gov.
	Partition string
	// AccountID, when known, replaces `*` in the ARNs of ServicePolicy and
	// in dry-run reports.
	AccountID string
	// Accounts are the accounts requests may name (the accounts file),
	// the first the default; empty means one account, DefaultAccountName,
	// the credentials' own. In gives the settings for one of them.
	Accounts []Account
	// Installation is the ID of this rolegate installation (its
	// database's, store.DB.Installation), tagged on every role and
	// instance profile (TagInstallation) and required on those rolegate
	// changes: two installations in one account, each with its own
	// request 42, then never take each other's roles for their own. ""
	// plans without the tag (rolegate render without a database) and
	// refuses every role or profile that carries one.
	Installation string
	// AdoptsUpTo is the highest request ID of the installation that may
	// own a role or instance profile without the installation tag (its
	// database's, store.DB.AdoptsUpTo): the requests made before the
	// installation ID was drawn, when rolegate made roles without it.
	// A request after it never takes an untagged one for its own, which
	// another installation's request of its number made before then may
	// own. It counts only with an Installation: without one, every
	// untagged role of the request is its own, as before installation IDs.
	AdoptsUpTo int64
}

// Tag keys rolegate owns. A role or instance profile carrying
// managed-by=rolegate, this request's ID and this installation's ID is one
// rolegate may modify; so is one made before installations had IDs, with
// the first two and no installation tag at all, for a request made before
// then (Settings.AdoptsUpTo), which gets the tag (see Plan.owns).
const (
	TagManagedBy = "managed-by"
	TagRequestID = "rolegate:request-id"
	// TagInstallation holds Settings.Installation.
	TagInstallation = "rolegate:installation"
	// ManagedByValue is the value of TagManagedBy.
	ManagedByValue = "rolegate"
	// InlinePolicyName is the name of the one inline policy of every role.
	InlinePolicyName = "rolegate-s3-access"
)

// Limits that IAM imposes and rolegate checks up front.
const (
	maxRoleNameLen      = 64
	maxDescriptionLen   = 1000
	maxInlinePolicySize = 10240
	maxManagedPerRole   = 10
	maxTagsPerEntity    = 50
	maxPrefixBytes      = 1024
	minSession          = 3600
	maxSession          = 43200
	maxScopesCeiling    = 200
	maxNamePrefixLen    = 32
	maxRolePathLen      = 512
)

// DefaultSettings returns the settings rolegate runs with when nothing is
// configured: path /rolegate/, no prefix, no boundary, no managed policies,
// at most 50 scopes, partition aws.
func DefaultSettings() Settings {
	return Settings{RolePath: "/rolegate/", MaxScopes: 50, Partition: "aws"}
}

var (
	iamNameRe       = regexp.MustCompile(`^[\w+=,.@-]*$`)
	rolePathRe      = regexp.MustCompile(`^/([\x21-\x7e]*/)?$`)
	bucketPatternRe = regexp.MustCompile(`^[a-z0-9.*-]+$`)
	partitionRe     = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	accountIDRe     = regexp.MustCompile(`^[0-9]{12}$`)
	policyARNRe     = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::([0-9]{12}|aws):policy/([\x21-\x7e]*/)?[\w+=,.@-]{1,128}$`)
	tagCharsRe      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// Validate checks the settings themselves. It returns a *ValidationError
// listing every wrong setting (fields named after the settings), or nil.
func (s Settings) Validate() error {
	var v problems
	if len(s.RolePath) > maxRolePathLen || !rolePathRe.MatchString(s.RolePath) {
		v.add("role_path", "role path must be / or start and end with / and contain only printable ASCII characters (got %q)", s.RolePath)
	}
	if len(s.NamePrefix) > maxNamePrefixLen || !iamNameRe.MatchString(s.NamePrefix) {
		v.add("name_prefix", "name prefix must be at most %d letters, digits or + = , . @ _ - (got %q)", maxNamePrefixLen, s.NamePrefix)
	}
	if !partitionRe.MatchString(s.Partition) {
		v.add("partition", "partition must be aws, aws-cn or aws-us-gov (got %q)", s.Partition)
	}
	if s.AccountID != "" && !accountIDRe.MatchString(s.AccountID) {
		v.add("account_id", "account ID must be 12 digits (got %q)", s.AccountID)
	}
	if s.PermissionsBoundaryARN != "" && !policyARNRe.MatchString(s.PermissionsBoundaryARN) {
		v.add("permissions_boundary", "permissions boundary must be a managed policy ARN like arn:aws:iam::123456789012:policy/Name (got %q)", s.PermissionsBoundaryARN)
	}
	for i, p := range s.AllowedBuckets {
		if !bucketPatternRe.MatchString(p) {
			v.add(fmt.Sprintf("allowed_buckets[%d]", i), "bucket pattern may contain only lower-case letters, digits, dots, hyphens and * (got %q)", p)
		}
	}
	for i, p := range s.DeniedBuckets {
		if !bucketPatternRe.MatchString(p) {
			v.add(fmt.Sprintf("denied_buckets[%d]", i), "bucket pattern may contain only lower-case letters, digits, dots, hyphens and * (got %q)", p)
		}
	}
	for i, p := range s.AllowedManagedPolicies {
		if _, err := s.managedPolicyARN(p); err != nil {
			v.add(fmt.Sprintf("allowed_managed_policies[%d]", i), "%s", err.Error())
		}
	}
	if s.MaxScopes < 1 || s.MaxScopes > maxScopesCeiling {
		v.add("max_scopes", "max scopes must be between 1 and %d (got %d)", maxScopesCeiling, s.MaxScopes)
	}
	if s.Installation != "" && (len(s.Installation) > 256 || !tagCharsRe.MatchString(s.Installation)) {
		v.add("installation", "installation ID must be at most 256 letters, digits, spaces or _ . : / = + - @ (got %q)", s.Installation)
	}
	if s.AdoptsUpTo < 0 {
		v.add("adopts_up_to", "the last request that may own an untagged role must be 0 (none) or a request ID (got %d)", s.AdoptsUpTo)
	}
	if len(s.Tags) > maxTagsPerEntity-3 {
		v.add("tags", "at most %d fixed tags are allowed, since rolegate adds up to 3 of its own (got %d)", maxTagsPerEntity-3, len(s.Tags))
	}
	folded := map[string]string{} // lower-cased key -> the first key of that spelling
	for _, k := range sortedKeys(s.Tags) {
		field := fmt.Sprintf("tags[%s]", k)
		first, twice := folded[strings.ToLower(k)]
		if !twice {
			folded[strings.ToLower(k)] = k
		}
		switch {
		case twice:
			// IAM refuses a role or instance profile created with both
			// (InvalidInput), so every provisioning would fail.
			v.add(field, "tag key %q is the same key as %q to IAM, which ignores case in tag keys; keep one of them", k, first)
		case strings.EqualFold(k, TagManagedBy) || strings.HasPrefix(strings.ToLower(k), "rolegate:"):
			v.add(field, "tag key %q is reserved for rolegate", k)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			v.add(field, "tag keys starting with aws: are reserved by AWS")
		case k == "" || len([]rune(k)) > 128 || !tagCharsRe.MatchString(k):
			v.add(field, "tag key must be 1 to 128 letters, digits, spaces or _ . : / = + - @")
		case len([]rune(s.Tags[k])) > 256 || !tagCharsRe.MatchString(s.Tags[k]):
			v.add(field, "tag value must be at most 256 letters, digits, spaces or _ . : / = + - @")
		}
	}
	s.validateAccounts(&v)
	return v.err()
}

// managedPolicyARN turns a name or ARN into a policy ARN; a bare name is an
// AWS managed policy (arn:PARTITION:iam::aws:policy/NAME).
func (s Settings) managedPolicyARN(nameOrARN string) (string, error) {
	if strings.HasPrefix(nameOrARN, "arn:") {
		if !policyARNRe.MatchString(nameOrARN) {
			return "", fmt.Errorf("%q is not a managed policy ARN like arn:aws:iam::aws:policy/Name", nameOrARN)
		}
		return nameOrARN, nil
	}
	if nameOrARN == "" || len(nameOrARN) > 128 || !iamNameRe.MatchString(nameOrARN) {
		return "", fmt.Errorf("%q is not a managed policy name (letters, digits and + = , . @ _ -) or ARN", nameOrARN)
	}
	return fmt.Sprintf("arn:%s:iam::aws:policy/%s", s.partition(), nameOrARN), nil
}

func (s Settings) partition() string {
	if s.Partition == "" {
		return "aws"
	}
	return s.Partition
}

// allowedPolicyARNs resolves AllowedManagedPolicies, skipping invalid ones
// (Validate reports those).
func (s Settings) allowedPolicyARNs() []string {
	var out []string
	for _, p := range s.AllowedManagedPolicies {
		if arn, err := s.managedPolicyARN(p); err == nil {
			out = append(out, arn)
		}
	}
	sort.Strings(out)
	return dedupe(out)
}

// bucketAllowed reports whether the guardrails let a request name bucket,
// and if not, why.
func (s Settings) bucketAllowed(bucket string) (bool, string) {
	for _, p := range s.DeniedBuckets {
		if matchPattern(p, bucket) {
			return false, fmt.Sprintf("bucket %q is denied by your organisation's settings (pattern %q)", bucket, p)
		}
	}
	if len(s.AllowedBuckets) == 0 {
		return true, ""
	}
	for _, p := range s.AllowedBuckets {
		if matchPattern(p, bucket) {
			return true, ""
		}
	}
	return false, fmt.Sprintf("bucket %q is not one you may request; allowed buckets are %s", bucket, strings.Join(s.AllowedBuckets, ", "))
}

// matchPattern matches a bucket pattern where `*` is any run of characters.
// Bucket names cannot contain the other path.Match metacharacters, and a
// pattern that still fails to parse matches nothing.
func matchPattern(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// problems collects FieldErrors; err returns nil when there are none.
type problems struct{ list []FieldError }

func (p *problems) add(field, format string, args ...any) {
	p.list = append(p.list, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: p.list}
}

// Keeping returns the settings that plan the role named name in account
// (its spec's name and account) under the name and path IAM holds it by,
// roleARN (that of a live role, or the one planned before the first IAM
// write of its provisioning): the role keeps them when --name-prefix (or
// the account's name_prefix) or --role-path change later, since IAM can
// neither rename a role nor move it. Planned with the new ones, a change,
// a drift repair or a retry would create a second role beside it and a
// revocation would find nothing to remove. Only the path and the name of
// roleARN count, not its account. It returns s unchanged for an empty
// roleARN (nothing fixed yet) or one whose name does not end with name.
func (s Settings) Keeping(account, name, roleARN string) Settings {
	path, full, ok := splitRoleARN(roleARN)
	if !ok {
		return s
	}
	prefix, ok := strings.CutSuffix(full, name)
	if !ok {
		return s
	}
	s.RolePath = path
	if len(s.Accounts) == 0 {
		s.NamePrefix = prefix
		return s
	}
	a, ok := s.Account(account)
	if !ok {
		return s
	}
	s.Accounts = append([]Account(nil), s.Accounts...)
	for k := range s.Accounts {
		if s.Accounts[k].Name == a.Name {
			s.Accounts[k].NamePrefix = &prefix
		}
	}
	return s
}

// ForRemoval returns the settings under which a role of spec, granted
// under older settings, is planned to be removed: the guardrails that
// decide what may be granted (allowed and denied buckets, managed
// policies, scope count) are relaxed, so tightening one never leaves a
// live role that cannot be revoked. A new guardrail on what may be
// granted is relaxed here too.
func (s Settings) ForRemoval(spec RoleSpec) Settings {
	s.AllowedBuckets, s.DeniedBuckets = nil, nil
	s.AllowedManagedPolicies = spec.ManagedPolicies
	s.MaxScopes = max(s.MaxScopes, len(spec.Buckets))
	return s
}
