package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/rolegate/rolegate/provision"
)

// cmdServicePolicy prints the least-privilege IAM policy rolegate itself
// needs under the configured settings (role path, boundary, allowed
// managed policies), for operators to grant exactly that. It fails on
// invalid settings.
func cmdServicePolicy(ctx context.Context, c cli) error {
	fs := flag.NewFlagSet("service-policy", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: rolegate service-policy [flags]\n\nPrint the IAM policy rolegate needs, limited to the configured role path.\n\nFlags (each falls back to the environment variable in brackets):")
		fs.PrintDefaults()
	}
	settings := provisionFlags(fs, c.getenv)
	if err := fs.Parse(c.args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("service-policy: unexpected argument %q", fs.Arg(0))
	}
	set, err := settings()
	if err != nil {
		return fmt.Errorf("service-policy: invalid settings:\n%w", err)
	}
	_, err = io.WriteString(c.stdout, indent(provision.ServicePolicy(set)))
	return err
}
