package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the VCS revision the binary was built from is shown.
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

func cmdVersion(ctx context.Context, c cli) error {
	fs := newFlagSet("version", "version", c.stderr)
	if err := parseFlagsOnly(fs, c.args); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "rolegate", buildVersion())
	return nil
}
