package main

import (
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/rolegate/rolegate/provision"
)

// provisionFlags registers the provisioning guardrail flags on fs, each
// falling back to its ROLEGATE_* environment variable, and returns a
// function to call after fs.Parse. That function returns the validated
// Settings, or an error with one line per wrong value.
func provisionFlags(fs *flag.FlagSet, getenv func(string) string) func() (provision.Settings, error) {
	def := provision.DefaultSettings()
	env := func(name, fallback string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return fallback
	}
	var (
		rolePath, prefix, boundary, allowed, denied, managed, tags, partition, account, maxScopes, accounts string
	)
	fs.StringVar(&rolePath, "role-path", env("ROLEGATE_ROLE_PATH", def.RolePath), "IAM `path` of every role and instance profile [ROLEGATE_ROLE_PATH]")
	fs.StringVar(&prefix, "name-prefix", env("ROLEGATE_NAME_PREFIX", ""), "`prefix` put in front of every role name [ROLEGATE_NAME_PREFIX]")
	fs.StringVar(&boundary, "permissions-boundary", env("ROLEGATE_PERMISSIONS_BOUNDARY", ""), "managed policy `ARN` set as every role's permissions boundary [ROLEGATE_PERMISSIONS_BOUNDARY]")
	fs.StringVar(&allowed, "allowed-buckets", env("ROLEGATE_ALLOWED_BUCKETS", ""), "comma-separated bucket `patterns` requests may name, e.g. team-*,shared-logs; empty allows any [ROLEGATE_ALLOWED_BUCKETS]")
	fs.StringVar(&denied, "denied-buckets", env("ROLEGATE_DENIED_BUCKETS", ""), "comma-separated bucket `patterns` no request may name [ROLEGATE_DENIED_BUCKETS]")
	fs.StringVar(&managed, "allowed-managed-policies", env("ROLEGATE_ALLOWED_MANAGED_POLICIES", ""), "comma-separated managed policy `names or ARNs` requests may attach [ROLEGATE_ALLOWED_MANAGED_POLICIES]")
	fs.StringVar(&tags, "tags", env("ROLEGATE_TAGS", ""), "comma-separated `key=value` tags added to every role and profile [ROLEGATE_TAGS]")
	fs.StringVar(&maxScopes, "max-scopes", env("ROLEGATE_MAX_SCOPES", strconv.Itoa(def.MaxScopes)), "most bucket scopes one request may ask for [ROLEGATE_MAX_SCOPES]")
	fs.StringVar(&partition, "partition", env("ROLEGATE_PARTITION", def.Partition), "AWS `partition` of ARNs: aws, aws-cn or aws-us-gov [ROLEGATE_PARTITION]")
	fs.StringVar(&accounts, "accounts-file", env("ROLEGATE_ACCOUNTS_FILE", ""), "YAML or JSON `file` of the AWS accounts requests may name, the first the default; none: the credentials' own account only [ROLEGATE_ACCOUNTS_FILE]")
	fs.StringVar(&account, "account-id", env("ROLEGATE_ACCOUNT_ID", ""), "AWS account `ID` used in the service policy's ARNs instead of * [ROLEGATE_ACCOUNT_ID]")

	return func() (provision.Settings, error) {
		var errs []error
		set := provision.Settings{
			RolePath: rolePath, NamePrefix: prefix, PermissionsBoundaryARN: boundary,
			AllowedBuckets: splitList(allowed), DeniedBuckets: splitList(denied), AllowedManagedPolicies: splitList(managed),
			Partition: partition, AccountID: account,
		}
		n, err := strconv.Atoi(strings.TrimSpace(maxScopes))
		if err != nil {
			errs = append(errs, fmt.Errorf("--max-scopes: %q is not a whole number", maxScopes))
		}
		set.MaxScopes = n
		if accounts != "" {
			list, ferr := loadAccounts(accounts)
			for _, e := range unjoin(ferr) {
				errs = append(errs, fmt.Errorf("--accounts-file %s: %w", accounts, e))
			}
			set.Accounts = list
		}
		if tags != "" {
			set.Tags = map[string]string{}
			for _, kv := range splitList(tags) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					errs = append(errs, fmt.Errorf("--tags: %q is not key=value", kv))
					continue
				}
				set.Tags[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		if err == nil {
			var verr *provision.ValidationError
			if err := set.Validate(); errors.As(err, &verr) {
				for _, p := range verr.Problems {
					errs = append(errs, fmt.Errorf("%s: %s", settingFlag(p.Field), p.Message))
				}
			}
		}
		if len(errs) > 0 {
			return provision.Settings{}, errors.Join(errs...)
		}
		return set, nil
	}
}

var indexSuffix = regexp.MustCompile(`\[.*\]$`)

// settingFlag names the flag behind a Settings field, e.g. role_path or
// allowed_buckets[2] -> --role-path, --allowed-buckets.
func settingFlag(field string) string {
	if strings.HasPrefix(field, "accounts[") {
		return "--accounts-file: " + field
	}
	return "--" + strings.ReplaceAll(indexSuffix.ReplaceAllString(field, ""), "_", "-")
}

// unjoin returns the errors joined in err (errors.Join), err alone, or
// none for nil.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err != nil {
		return []error{err}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseSettingsOnly parses the flags of a command that takes no argument
// and works from the provisioning settings alone (render, service-policy):
// after parsing, check (when set) vets the command's own flags. It returns
// the validated settings, or the first error (one line per wrong setting).
func parseSettingsOnly(fs *flag.FlagSet, c cli, check func() error) (provision.Settings, error) {
	settings := provisionFlags(fs, c.getenv)
	if err := parseFlagsOnly(fs, c.args); err != nil {
		return provision.Settings{}, err
	}
	if check != nil {
		if err := check(); err != nil {
			return provision.Settings{}, err
		}
	}
	set, err := settings()
	if err != nil {
		return provision.Settings{}, fmt.Errorf("%s: invalid settings:\n%w", fs.Name(), err)
	}
	return set, nil
}
