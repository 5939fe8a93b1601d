package main

import (
	"context"
	"fmt"
)

// cmdAudit checks the audit trail: `rolegate audit verify` recomputes the
// hash chain and names the first broken link, exiting non-zero when there
// is one.
func cmdAudit(ctx context.Context, c cli) error {
	var dbf dbFlag
	db, _, _, err := dbf.openVerb(ctx, c, "audit", "audit [flags] verify", "verify")
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
