package store

import (
	"bytes"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// AuditReport is the outcome of checking the audit trail's hash chain.
type AuditReport struct {
	// Checked counts the events read up to and including the first broken
	// one (all of them when the chain is intact).
	Checked int
	// FirstBroken is the ID of the first event whose hash or link does not
	// verify; 0 means the chain is intact.
	FirstBroken int64
	// Reason says why FirstBroken does not verify.
	Reason string
	// Unsealed counts events written but not chained yet (the sealer runs
	// every few seconds); they are not checked.
	Unsealed int
}

// sealBatch is how many events one audit_seal call chains.
const sealBatch = 1000

// SealAudit chains every committed, unsealed audit event into the hash
// chain, in ID order, and returns how many it sealed. Events are written
// unsealed so no transaction waits on the chain; the worker seals every few
// seconds, and verification seals first.
func (db *DB) SealAudit(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		if err := db.pool.QueryRow(ctx, `SELECT audit_seal($1)`, sealBatch).Scan(&n); err != nil {
			return total, interpret(err)
		}
		total += n
		if n < sealBatch {
			return total, nil
		}
	}
}

// Intact reports whether every event verified.
func (r AuditReport) Intact() bool { return r.FirstBroken == 0 }

// VerifyAuditChain reads every sealed audit event in chain order and checks
// that its stored hash is the digest of its content chained to its
// prev_hash (recomputed by the database with the function the sealer
// uses) and that its prev_hash is the hash of the event before it. It
// stops at the first broken link and names it. A broken chain is a
// report, not an error: the error is for failing to read the trail.
//
// Removing the newest events leaves a shorter chain that still verifies;
// only an anchor kept elsewhere (the last hash) can tell.
func (db *DB) VerifyAuditChain(ctx context.Context) (AuditReport, error) {
	var rep AuditReport
	// One snapshot for the scan and the follow-up lookup, so events
	// appended meanwhile are neither half-seen nor blamed.
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT id, prev_hash, hash,
			       hash IS NOT DISTINCT FROM audit_event_digest(prev_hash, request_id, version, actor, kind, data, created_at)
			FROM audit_events WHERE seal_seq IS NOT NULL ORDER BY seal_seq`)
		if err != nil {
			return interpret(err)
		}
		var (
			prev     = []byte{} // the first event links to the empty hash
			prevID   int64
			brokenAt int64
			reason   string
			badLink  bool
			link     []byte // the prev_hash of the event whose link is bad
		)
		for rows.Next() {
			var (
				id         int64
				prevHash   []byte
				hash       []byte
				contentsOK bool
			)
			if err := rows.Scan(&id, &prevHash, &hash, &contentsOK); err != nil {
				rows.Close()
				return interpret(err)
			}
			rep.Checked++
			switch {
			case !contentsOK:
				brokenAt, reason = id, "content altered: the stored hash is not the digest of the event's content"
			case !bytes.Equal(prevHash, prev):
				brokenAt, badLink, link = id, true, prevHash
			}
			if brokenAt != 0 {
				break
			}
			prev, prevID = hash, id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return interpret(err)
		}
		if brokenAt == 0 {
			return interpret(tx.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE seal_seq IS NULL`).Scan(&rep.Unsealed))
		}
		rep.FirstBroken, rep.Reason = brokenAt, reason
		if !badLink {
			return nil
		}
		before := "the start of the chain"
		if prevID != 0 {
			before = fmt.Sprintf("event %d", prevID)
		}
		// A link to a hash no event carries means the event it pointed at
		// is gone (or was rewritten); one elsewhere means the order forked.
		var linkedID int64
		err = tx.QueryRow(ctx, `SELECT id FROM audit_events WHERE hash = $1 ORDER BY seal_seq LIMIT 1`, link).Scan(&linkedID)
		switch {
		case err == pgx.ErrNoRows && len(link) > 0:
			rep.Reason = fmt.Sprintf("deleted row: its prev_hash matches no event, so an event between %s and it was deleted (or rewritten)", before)
		case err == pgx.ErrNoRows:
			rep.Reason = fmt.Sprintf("chain link broken: it starts a new chain instead of linking to %s", before)
		case err != nil:
			return interpret(err)
		default:
			rep.Reason = fmt.Sprintf("chain link broken: it links to event %d instead of %s", linkedID, before)
		}
		return nil
	})
	if err != nil {
		return AuditReport{}, err
	}
	return rep, nil
}
