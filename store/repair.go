package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrRepairRunning: a drift repair of the request is writing to IAM, so a
// revocation or a provisioning must not touch IAM yet (the repair could
// put back what the revocation removes, or undo what the provisioning
// writes). The job waits and asks again.
var ErrRepairRunning = errors.New("a drift repair of the request is running")

// repairLockSpace is the first key of the transaction-scoped advisory
// lock a drift repair of a request holds (pg_advisory_xact_lock(int, int),
// whose keys PostgreSQL keeps apart from the one-bigint locks of the audit
// chain and the migrations); the second is the request's ID.
const repairLockSpace int32 = 0x72706169 // "rpai"

// repairLockKey is the second key of a request's repair lock: its ID,
// wrapped to 32 bits (two requests sharing a key only wait for each other).
func repairLockKey(id int64) int32 { return int32(id) }

// Repair runs fn, a drift repair of the live version of request id in
// IAM, while holding the request's repair lock: a revocation or a
// provisioning of the request that begins meanwhile waits until fn returns
// (BeginRevocation and BeginProvisioning return ErrRepairRunning). fn gets
// check, which it calls before each IAM write: it returns ErrConflict once
// the request is no longer live at version (revoked, expired, or a change
// approved), and fn then stops. Repair returns ErrConflict when the
// request was not live at version to begin with, or fn's error.
func (db *DB) Repair(ctx context.Context, id int64, version int, fn func(ctx context.Context, check func(context.Context) error) error) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, repairLockSpace, repairLockKey(id)); err != nil {
			return interpret(err)
		}
		// The check goes through the lock's own transaction: while it
		// answers, the lock is held.
		check := func(ctx context.Context) error {
			var live bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM requests
				WHERE id = $1 AND live_version = $2 AND `+liveSQL+`)`, id, version).Scan(&live); err != nil {
				return interpret(err)
			}
			if !live {
				return errorf(KindConflict, "request %d is no longer live at version %d", id, version)
			}
			return nil
		}
		if err := check(ctx); err != nil {
			return err
		}
		return fn(ctx, check)
	})
}

// repairRunning returns ErrRepairRunning while a drift repair of request
// id holds its repair lock (Repair), and nil otherwise. A job that has
// made the request leave the live states (revoking, or a change approved)
// and then finds no repair running knows none will write again: a repair
// that takes the lock later finds the request not live and writes nothing.
// Asked through the pool, the statement is its own transaction and the
// lock, if taken, is released at once; asked in a transaction, the lock
// is held until it ends, so no repair begins meanwhile.
func repairRunning(ctx context.Context, q querier, id int64) error {
	var free bool
	if err := q.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, $2)`, repairLockSpace, repairLockKey(id)).Scan(&free); err != nil {
		return interpret(err)
	}
	if !free {
		return fmt.Errorf("%w (request %d)", ErrRepairRunning, id)
	}
	return nil
}
