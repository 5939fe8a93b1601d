package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"
)

func cmdMigrate(ctx context.Context, c cli) error {
	var dbf dbFlag
	db, verb, logger, err := dbf.openVerb(ctx, c, "migrate", "migrate [flags] up|status", "up", "status")
	if err != nil {
		return err
	}
	defer db.Close()
	if verb == "up" {
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
	if err := tw.Flush(); err != nil {
		return err
	}
	// The ID tagged on every role (rolegate:installation), for
	// rolegate render --installation and for telling installations apart.
	id := db.Installation()
	if id == "" {
		id = "none yet (rolegate migrate up draws it)"
	}
	if _, err := fmt.Fprintf(c.stdout, "\ninstallation ID: %s\n", id); err != nil || db.Installation() == "" {
		return err
	}
	// Which roles without the tag (made before the ID) it takes for its
	// own: none for a database new with the ID, or not migrated to the
	// bound yet.
	adopts := "none"
	if n := db.AdoptsUpTo(); n > 0 {
		adopts = fmt.Sprintf("those of requests 1 to %d (made before the installation ID)", n)
	}
	_, err = fmt.Fprintf(c.stdout, "untagged roles adopted: %s\n", adopts)
	return err
}
