package main

import (
	"context"
	"fmt"

	"github.com/rolegate/rolegate/store"
)

// cmdAudit checks the audit trail: `rolegate audit verify` recomputes the
// hash chain and names the first broken link, exiting non-zero when there
// is one.
func cmdAudit(ctx context.Context, c cli) error {
	var (
		errs settingErrors
		dbf  dbFlag
		logs logSettings
	)
	fs := newFlagSet("audit", "audit [flags] verify", c.stderr)
	dbf.register(fs, c.getenv)
	logs.register(fs, c.getenv)
	if err := fs.Parse(c.args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "verify" {
		fs.Usage()
		return fmt.Errorf("audit: say `verify`")
	}
	dbf.check(&errs)
	logs.logger(c.stderr, &errs)
	if err := errs.err(); err != nil {
		return err
	}
	db, err := dbf.open(ctx, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	// Chain what the worker has not sealed yet, so every event is checked;
	// an auditor with read-only access verifies what is sealed.
	if _, err := db.SealAudit(ctx); err != nil {
		fmt.Fprintf(c.stderr, "could not seal the newest events (%v); verifying the sealed ones\n", err)
	}
	rep, err := db.VerifyAuditChain(ctx)
	if err != nil {
		return fmt.Errorf("verify the audit chain: %w", err)
	}
	if !rep.Intact() {
		fmt.Fprintf(c.stdout, "audit chain broken at event %d: %s\n", rep.FirstBroken, rep.Reason)
		return fmt.Errorf("%w: audit chain broken at event %d", errAlreadyReported, rep.FirstBroken)
	}
	fmt.Fprintf(c.stdout, "audit chain intact: %d events\n", rep.Checked)
	if rep.Unsealed > 0 {
		fmt.Fprintf(c.stdout, "%d newer events are not sealed yet and were not checked\n", rep.Unsealed)
	}
	return nil
}
