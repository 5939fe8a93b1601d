package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// IdempotencyTTL is how long a completed key answers retries; the API
// promises at least 24 hours.
const IdempotencyTTL = 24 * time.Hour

// idempotencyStale is how long a claim without a response may live before
// a retry takes it over: longer than any request may run, so only a
// crashed server leaves one that old.
const idempotencyStale = 2 * time.Minute

// IdempotencyKey names one creating request of one user.
type IdempotencyKey struct {
	User   string
	Key    string
	Method string
	Path   string
	// BodySHA256 is the hash of the request body: a retry must send the same.
	BodySHA256 [32]byte
}

// StoredResponse is the response a completed key replays.
type StoredResponse struct {
	Status  int
	Headers map[string]string
	Body    []byte
	// RequestID is set instead when a stale claim is taken over whose
	// first attempt wrote this request and died before storing its
	// response: the new claimant answers with the request rather than
	// running again.
	RequestID int64
}

// linkIdempotencyKey records on a claimed key, in the writing transaction,
// the request written under it.
func linkIdempotencyKey(ctx context.Context, tx pgx.Tx, k *IdempotencyKey, requestID int64) error {
	if k == nil {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET request_id = $3 WHERE user_name = $1 AND key = $2 AND status IS NULL`,
		k.User, k.Key, requestID)
	return interpret(err)
}

// ClaimIdempotencyKey records that k's request is starting. It returns
// claimed=true when the caller should run the request (the key is new, or
// a claim abandoned by a crashed server is taken over; when that server
// had written its request, StoredResponse.RequestID names it and the
// caller answers with it instead) and then call CompleteIdempotencyKey or
// ReleaseIdempotencyKey. When the key completed
// earlier it returns claimed=false and the stored response to replay. It
// returns ErrIdempotencyMismatch for another body or path, and
// ErrIdempotencyInFlight while another request holds the claim.
//
// Concurrent claims of one key serialise on the primary key: the INSERT
// of the second waits for the first's transaction, so exactly one wins.
func (db *DB) ClaimIdempotencyKey(ctx context.Context, k IdempotencyKey) (StoredResponse, bool, error) {
	now := db.now().UTC()
	var (
		resp    StoredResponse
		claimed bool
	)
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		// Keys past their lifetime are forgotten: the user's own, so the
		// table stays bounded even without the periodic clean-up.
		if _, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE user_name = $1 AND created_at < $2`,
			k.User, now.Add(-IdempotencyTTL)); err != nil {
			return interpret(err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (user_name, key, method, path, request_sha256, created_at, claimed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (user_name, key) DO NOTHING`,
			k.User, k.Key, k.Method, k.Path, k.BodySHA256[:], now)
		if err != nil {
			return interpret(err)
		}
		if tag.RowsAffected() == 1 {
			claimed = true
			return nil
		}
		var (
			method, path string
			sum          []byte
			status       *int
			claimedAt    time.Time
			requestID    *int64
		)
		err = tx.QueryRow(ctx, `SELECT method, path, request_sha256, status, coalesce(headers, '{}'), coalesce(body, ''), claimed_at, request_id
			FROM idempotency_keys WHERE user_name = $1 AND key = $2 FOR UPDATE`, k.User, k.Key).
			Scan(&method, &path, &sum, &status, &resp.Headers, &resp.Body, &claimedAt, &requestID)
		if err != nil {
			return interpret(err)
		}
		if method != k.Method || path != k.Path || string(sum) != string(k.BodySHA256[:]) {
			return ErrIdempotencyMismatch
		}
		if status != nil {
			resp.Status = *status
			return nil
		}
		if now.Sub(claimedAt) < idempotencyStale {
			return ErrIdempotencyInFlight
		}
		_, err = tx.Exec(ctx, `UPDATE idempotency_keys SET claimed_at = $3 WHERE user_name = $1 AND key = $2 AND status IS NULL`,
			k.User, k.Key, now)
		claimed = true
		if requestID != nil {
			resp.RequestID = *requestID
		}
		return interpret(err)
	})
	if err != nil {
		return StoredResponse{}, false, err
	}
	return resp, claimed, nil
}

// CompleteIdempotencyKey stores the response of a claimed key, which
// retries then replay. Only responses below 500 are stored (a server
// error is released instead, so the retry runs again). It returns
// ErrConflict when the key is not claimed (completed already, or taken
// over after going stale).
func (db *DB) CompleteIdempotencyKey(ctx context.Context, k IdempotencyKey, r StoredResponse) error {
	if r.Status < 100 || r.Status > 499 {
		return errorf(KindInvalid, "only responses 100..499 are kept, not %d", r.Status)
	}
	if r.Headers == nil {
		r.Headers = map[string]string{}
	}
	if r.Body == nil {
		r.Body = []byte{}
	}
	now := db.now().UTC()
	tag, err := db.pool.Exec(ctx, `UPDATE idempotency_keys SET status = $3, headers = $4, body = $5, completed_at = $6
		WHERE user_name = $1 AND key = $2 AND status IS NULL AND request_sha256 = $7`,
		k.User, k.Key, r.Status, r.Headers, r.Body, now, k.BodySHA256[:])
	if err != nil {
		return interpret(err)
	}
	if tag.RowsAffected() != 1 {
		return errorf(KindConflict, "idempotency key is not claimed")
	}
	return nil
}

// ReleaseIdempotencyKey forgets a claimed key whose request failed on the
// server's side, so a retry runs it again. A completed key is kept. A key
// whose request was written (the failure came after the write) is kept
// too, its claim made stale at once, so the retry takes it over and
// answers with that request.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, k IdempotencyKey) error {
	_, err := db.pool.Exec(ctx, `
		WITH forget AS (
			DELETE FROM idempotency_keys WHERE user_name = $1 AND key = $2 AND status IS NULL AND request_id IS NULL)
		UPDATE idempotency_keys SET claimed_at = $3
		WHERE user_name = $1 AND key = $2 AND status IS NULL AND request_id IS NOT NULL`,
		k.User, k.Key, db.now().UTC().Add(-24*time.Hour)) // stale on any clock
	return interpret(err)
}

// DeleteExpiredIdempotencyKeys removes keys older than olderThan (at least
// IdempotencyTTL, which is enforced) and returns how many went.
func (db *DB) DeleteExpiredIdempotencyKeys(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan < IdempotencyTTL {
		return 0, errorf(KindInvalid, "keys are kept at least %s", IdempotencyTTL)
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, db.now().UTC().Add(-olderThan))
	if err != nil {
		return 0, interpret(err)
	}
	return tag.RowsAffected(), nil
}
