package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rolegate/rolegate/provision"
)

// cmdRender renders a role spec: the plan summary, the trust and
// permission policies and the Terraform, or with --only just one of them
// so it can be piped to a file. An invalid spec prints its field errors
// to stderr and fails with errAlreadyReported.
func cmdRender(ctx context.Context, c cli) error {
	fs := newAboutFlagSet("render", "render --spec FILE.json [--only trust-policy|policy|terraform] [flags]", "Render the plan, the IAM policies and the Terraform of a role spec without calling AWS.", c.stderr)
	specPath := fs.String("spec", "", "role spec JSON `file` (required)")
	only := fs.String("only", "", "print only `part`: trust-policy, policy or terraform")
	requestID := fs.String("request-id", "preview", "request `ID` for the ownership tag and the Terraform header")
	requester := fs.String("requester", "", "requester shown in the Terraform header")
	approvers := fs.String("approvers", "", "comma-separated approvers shown in the Terraform header")
	installation := fs.String("installation", "", "installation `ID` for the rolegate:installation tag, as `rolegate migrate status` prints it; none: the tag is left out")
	set, err := parseSettingsOnly(fs, c, func() error {
		if *specPath == "" {
			fs.Usage()
			return errors.New("render: --spec is required")
		}
		switch *only {
		case "", "trust-policy", "policy", "terraform":
			return nil
		default:
			return fmt.Errorf("render: --only must be trust-policy, policy or terraform (got %q)", *only)
		}
	})
	if err != nil {
		return err
	}
	// Without a database there is no installation ID: the tag is left out
	// unless one is given, as the worker's plans would carry it.
	set.Installation = *installation
	if err := set.Validate(); err != nil {
		return fmt.Errorf("render: --installation: %w", err)
	}
	spec, err := readSpec(*specPath)
	if err != nil {
		return err
	}
	// Without approvers the render is a preview: its header claims no
	// approval (nor an approval time of now).
	meta := provision.PlanMeta{RequestID: *requestID, Requester: *requester, Approvers: splitList(*approvers)}
	if len(meta.Approvers) > 0 {
		meta.Time = time.Now()
	}
	plan, err := provision.NewPlan(spec, set, meta)
	var verr *provision.ValidationError
	if errors.As(err, &verr) {
		fmt.Fprintf(c.stderr, "%s is not a valid role spec:\n", *specPath)
		for _, p := range verr.Problems {
			fmt.Fprintf(c.stderr, "  %s: %s\n", p.Field, p.Message)
		}
		return errAlreadyReported
	}
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	tf, err := provision.Terraform(plan)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	switch *only {
	case "trust-policy":
		_, err = io.WriteString(c.stdout, indent(plan.Role.TrustPolicy))
	case "policy":
		_, err = io.WriteString(c.stdout, indent(plan.Policy.Document))
	case "terraform":
		_, err = c.stdout.Write(tf)
	default:
		var b bytes.Buffer
		b.WriteString(plan.Summary())
		fmt.Fprintf(&b, "\n# Trust policy\n%s\n# Permission policy %s\n%s\n# Terraform\n%s",
			indent(plan.Role.TrustPolicy), plan.Policy.Name, indent(plan.Policy.Document), tf)
		_, err = c.stdout.Write(b.Bytes())
	}
	return err
}

// readSpec reads a RoleSpec from JSON, refusing unknown fields so a typo
// is not silently ignored.
func readSpec(path string) (provision.RoleSpec, error) {
	var spec provision.RoleSpec
	data, err := os.ReadFile(path)
	if err != nil {
		return spec, fmt.Errorf("render: read spec: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return spec, fmt.Errorf("render: %s is not a role spec in JSON: %w", path, err)
	}
	return spec, nil
}

// indent pretty-prints a policy document (which is always valid JSON).
func indent(doc string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(doc), "", "  "); err != nil {
		return doc + "\n"
	}
	b.WriteByte('\n')
	return b.String()
}
