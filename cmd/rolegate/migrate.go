package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/rolegate/rolegate/store"
)

func cmdMigrate(ctx context.Context, c cli) error {
	var (
		errs settingErrors
		dbf  dbFlag
		logs logSettings
	)
	fs := newFlagSet("migrate", "migrate [flags] up|status", c.stderr)
	dbf.register(fs, c.getenv)
	logs.register(fs, c.getenv)
	if err := fs.Parse(c.args); err != nil {
		return err
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "up" && fs.Arg(0) != "status") {
		fs.Usage()
		return fmt.Errorf("migrate: say `up` or `status`")
	}
	dbf.check(&errs)
	logger := logs.logger(c.stderr, &errs)
	if err := errs.err(); err != nil {
		return err
	}
	db, err := dbf.open(ctx, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if fs.Arg(0) == "up" {
		applied, err := db.Migrate(ctx, logger)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintln(c.stdout, "schema is up to date")
		} else {
			fmt.Fprintf(c.stdout, "applied %d migration(s): %v\n", len(applied), applied)
		}
		return nil
	}
	states, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE")
	for _, s := range states {
		state, at := "pending", "-"
		if s.Applied {
			state, at = "applied", s.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Version, state, at, s.Name)
	}
	return tw.Flush()
}
