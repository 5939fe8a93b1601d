package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/rolegate/rolegate/provision"
)

// servicePolicyFlags are service-policy's own flags.
type servicePolicyFlags struct {
	hub, spoke                         bool
	hubPrincipal, externalID, account  string
	format, only                       string
	principalSet, externalSet, onlySet bool
}

// check vets the combination of flags, one line per fault.
func (f *servicePolicyFlags) check() error {
	switch {
	case f.hub && f.spoke:
		return errors.New("service-policy: --hub and --spoke exclude each other: --hub prints rolegate's own policy, --spoke the provisioner role of one account")
	case f.spoke && f.hubPrincipal == "":
		return errors.New("service-policy: --spoke needs --hub-principal ARN, the role or user rolegate runs as")
	case !f.spoke && (f.principalSet || f.externalSet):
		return errors.New("service-policy: --hub-principal and --external-id describe the hub to a spoke: use them with --spoke")
	case !f.spoke && f.onlySet:
		return errors.New("service-policy: --only picks one of the two policies of --spoke")
	case f.onlySet && f.format == "terraform":
		return errors.New("service-policy: --only prints one policy as JSON; --format terraform prints the role with both")
	case f.hub && f.account != "":
		return errors.New("service-policy: --account picks one account; --hub covers them all")
	}
	switch f.format {
	case "json", "terraform":
	default:
		return fmt.Errorf("service-policy: --format must be json or terraform (got %q)", f.format)
	}
	switch f.only {
	case "", "policy", "trust-policy":
		return nil
	default:
		return fmt.Errorf("service-policy: --only must be policy or trust-policy (got %q)", f.only)
	}
}

// cmdServicePolicy prints the least-privilege IAM policies rolegate needs
// under the configured settings (role path, boundary, allowed managed
// policies, accounts): by default the policy of its own identity acting
// in one account; with --hub the policy of its identity in a hub and
// spoke setup; with --spoke the trust and permission policies of one
// account's provisioner role. It fails on invalid settings or flags.
func cmdServicePolicy(ctx context.Context, c cli) error {
	fs := newAboutFlagSet("service-policy",
		"service-policy [--account NAME] [--hub | --spoke --hub-principal ARN [--external-id ID] [--only policy|trust-policy]] [--format json|terraform] [flags]",
		"Print the IAM policy rolegate needs, limited to the configured role path;\n"+
			"--hub: rolegate's own policy across accounts; --spoke: one account's provisioner role.", c.stderr)
	var f servicePolicyFlags
	fs.BoolVar(&f.hub, "hub", false, "print the policy of rolegate's own identity: sts:AssumeRole on the accounts' provisioner roles")
	fs.BoolVar(&f.spoke, "spoke", false, "print the trust and permission policies of an account's provisioner role")
	fs.StringVar(&f.hubPrincipal, "hub-principal", "", "with --spoke: IAM `ARN` of the role or user rolegate runs as, admitted by the trust policy")
	fs.StringVar(&f.externalID, "external-id", "", "with --spoke: external `ID` the trust policy requires (default the account's external_id)")
	fs.StringVar(&f.account, "account", "", "account `name` whose overrides apply (default the first account)")
	fs.StringVar(&f.format, "format", "json", "output `format`: json or terraform")
	fs.StringVar(&f.only, "only", "", "with --spoke: print only `part`: policy or trust-policy")
	set, err := parseSettingsOnly(fs, c, func() error {
		fs.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "hub-principal":
				f.principalSet = true
			case "external-id":
				f.externalSet = true
			case "only":
				f.onlySet = true
			}
		})
		return f.check()
	})
	if err != nil {
		return err
	}
	out, err := servicePolicyOutput(set, f)
	if err != nil {
		return fmt.Errorf("service-policy: %w", err)
	}
	_, err = io.WriteString(c.stdout, out)
	return err
}

// servicePolicyOutput renders what service-policy prints for f.
func servicePolicyOutput(set provision.Settings, f servicePolicyFlags) (string, error) {
	terraform := f.format == "terraform"
	switch {
	case f.hub:
		doc, err := provision.HubPolicy(set)
		if err != nil {
			return "", err
		}
		if terraform {
			tf, err := provision.PolicyTerraform("rolegate-hub", "rolegate: assume the provisioner role of each account", doc)
			return string(tf), err
		}
		return indent(doc), nil
	case f.spoke:
		r, err := provision.NewSpokeRole(set, f.account, f.hubPrincipal, f.externalID)
		if err != nil {
			return "", err
		}
		switch {
		case f.only == "policy":
			return indent(r.Policy), nil
		case f.only == "trust-policy":
			return indent(r.TrustPolicy), nil
		case terraform:
			tf, err := provision.SpokeRoleTerraform(r)
			return string(tf), err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "# Provisioner role %s%s of account %s: trust policy\n%s\n# Permission policy (inline)\n%s",
			r.Path, r.Name, r.Account.Name, indent(r.TrustPolicy), indent(r.Policy))
		return b.String(), nil
	}
	in, _, err := set.In(f.account)
	if err != nil {
		return "", err
	}
	doc := provision.ServicePolicy(in)
	if terraform {
		tf, err := provision.PolicyTerraform("rolegate", "rolegate: manage the roles it brokers", doc)
		return string(tf), err
	}
	return indent(doc), nil
}
