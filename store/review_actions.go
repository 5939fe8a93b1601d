package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// answerableReview locks request id in tx and returns it with its review,
// once actor may answer the review (its owner or an admin) and the role is
// under review. Who may act is checked before the state, so someone else
// learns nothing of the role's review. It returns ErrNotFound, then
// ErrForbidden, then ErrConflict (reviews off, no live role).
func (db *DB) answerableReview(ctx context.Context, tx pgx.Tx, actor Actor, id int64) (Request, Review, error) {
	r, err := lockRequest(ctx, tx, id)
	if err != nil {
		return Request{}, Review{}, err
	}
	rv, err := db.lockReview(ctx, tx, id, "")
	if errors.Is(err, ErrNotFound) {
		return Request{}, Review{}, err
	}
	if ferr := mayAnswerReview(actor, rv); ferr != nil {
		return Request{}, Review{}, ferr
	}
	return r, rv, err
}

// answerReview checks the note of an answer to the review of request id,
// then runs answer in one transaction once actor may answer it (see
// answerableReview), with the time of the answer.
func (db *DB) answerReview(ctx context.Context, actor Actor, id int64, note string,
	answer func(tx pgx.Tx, r Request, rv Review, now time.Time) error) error {
	if p := ReviewNoteFault(note); p != "" {
		return errorf(KindInvalid, "%s", p)
	}
	now := db.now().UTC()
	return db.inTx(ctx, func(tx pgx.Tx) error {
		r, rv, err := db.answerableReview(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		return answer(tx, r, rv, now)
	})
}

// ConfirmReview records that the owner (or an admin) confirmed a live
// role is still needed, with an optional note: a new cycle begins now, so
// the next review falls due an interval from now. It returns ErrInvalid
// for a note ReviewNoteFault refuses, ErrNotFound, ErrForbidden for
// anyone but the owner and admins and for an owner who no longer holds
// the requester role (MayKeep), and ErrConflict when the review is not
// due (or reviews are off, or the role is not live).
func (db *DB) ConfirmReview(ctx context.Context, actor Actor, id int64, note string) (Review, error) {
	err := db.answerReview(ctx, actor, id, note, func(tx pgx.Tx, r Request, rv Review, now time.Time) error {
		if !MayKeep(actor) {
			return errorf(KindForbidden, "you no longer hold the requester role, so you cannot keep a role; let it go, or ask an admin to confirm it")
		}
		if rv.State != ReviewDue {
			return errorf(KindConflict, "the review of %s is not due until %s", rv.RoleName, rv.DueAt.UTC().Format(time.RFC3339))
		}
		args := db.reviewArgs(now)
		args["id"] = id
		tag, err := tx.Exec(ctx, `UPDATE requests SET review_from = @now, review_reminded_at = NULL
			WHERE id = @id AND `+underReviewSQL+` AND `+reviewDueSQL, args)
		if err != nil {
			return interpret(err)
		}
		if tag.RowsAffected() != 1 {
			return errorf(KindConflict, "the review of request %d is no longer due", id)
		}
		_, err = db.event(ctx, tx, Event{RequestID: id, Version: r.LiveVersion, Actor: actor.Name, Kind: EventReviewConfirmed,
			Data: map[string]any{"note": note, "owner": rv.Owner, "next_due_at": now.Add(db.reviews.Interval).Format(time.RFC3339)}}, now)
		return err
	})
	if err != nil {
		return Review{}, err
	}
	return db.GetReview(ctx, id)
}

// LetGo records that the owner (or an admin) no longer needs a live role,
// with an optional note, and revokes it by the same path as Revoke (a
// change under way is superseded). It returns the request, now revoking;
// ErrInvalid for a note ReviewNoteFault refuses, ErrNotFound,
// ErrForbidden for anyone but the owner and admins, and ErrConflict when
// reviews are off or the role is not live.
func (db *DB) LetGo(ctx context.Context, actor Actor, id int64, note string) (Request, error) {
	err := db.answerReview(ctx, actor, id, note, func(tx pgx.Tx, r Request, rv Review, now time.Time) error {
		if _, err := db.event(ctx, tx, Event{RequestID: id, Version: r.LiveVersion, Actor: actor.Name, Kind: EventReviewLetGo,
			Data: map[string]any{"note": note, "owner": rv.Owner, "state": string(rv.State)}}, now); err != nil {
			return err
		}
		return db.beginRevoke(ctx, tx, r, actor.Name, StatusRevoked, now)
	})
	if err != nil {
		return Request{}, err
	}
	return db.GetRequest(ctx, id)
}

// RemindReviews records a review.reminder event (which webhooks receive)
// for each live role whose review has fallen due, once per cycle, and
// returns how many it sent. Workers running it at once cannot both remind
// of one role: the guarded UPDATE claims each reminder, and a second
// UPDATE waits for the first's row lock and then finds it claimed.
func (db *DB) RemindReviews(ctx context.Context) (int, error) {
	if !db.reviews.On() {
		return 0, nil
	}
	now := db.now().UTC()
	n := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE requests SET review_reminded_at = @now
			WHERE `+underReviewSQL+` AND review_reminded_at IS NULL AND `+reviewDueSQL+`
			RETURNING `+reviewColumns+`, live_version`, db.reviewArgs(now))
		if err != nil {
			return interpret(err)
		}
		type due struct {
			rv      Review
			version int
		}
		var all []due
		for rows.Next() {
			var d due
			var since time.Time
			if err := rows.Scan(&d.rv.RequestID, &d.rv.RoleName, &d.rv.Owner, &d.rv.Status, &since, &d.rv.RemindedAt, &d.version); err != nil {
				rows.Close()
				return interpret(err)
			}
			d.rv = db.reviewOf(d.rv.RequestID, d.rv.RoleName, d.rv.Owner, d.rv.Status, since, d.rv.RemindedAt)
			all = append(all, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return interpret(err)
		}
		for _, d := range all {
			if _, err := db.event(ctx, tx, Event{RequestID: d.rv.RequestID, Version: d.version, Actor: ReviewActor, Kind: EventReviewReminder,
				Data: map[string]any{"owner": d.rv.Owner, "due_at": d.rv.DueAt.UTC().Format(time.RFC3339),
					"revoke_at": d.rv.RevokeAt.UTC().Format(time.RFC3339)}}, now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// RevokeLapsedReviews revokes, by the same path as Revoke and recorded
// under ReviewActor, every live role whose review is due and unconfirmed
// the grace after its reminder, and returns how many it revoked. Workers
// running it at once share the roles out: each locks the rows it takes
// (SKIP LOCKED), and a row another worker has revoked meanwhile no longer
// matches.
func (db *DB) RevokeLapsedReviews(ctx context.Context) (int, error) {
	if !db.reviews.On() {
		return 0, nil
	}
	now := db.now().UTC()
	return db.revokeSelected(ctx, `SELECT id FROM requests WHERE `+underReviewSQL+` AND `+reviewLapsedSQL+`
		ORDER BY review_from, id LIMIT 500 FOR UPDATE SKIP LOCKED`, db.reviewArgs(now), ReviewActor, StatusRevoked,
		func(tx pgx.Tx, r Request) error {
			rv, err := db.lockReview(ctx, tx, r.ID, "")
			if err != nil {
				return err
			}
			data := map[string]any{"owner": rv.Owner, "due_at": rv.DueAt.UTC().Format(time.RFC3339)}
			if rv.RemindedAt != nil {
				data["reminded_at"] = rv.RemindedAt.UTC().Format(time.RFC3339)
			}
			_, err = db.event(ctx, tx, Event{RequestID: r.ID, Version: r.LiveVersion, Actor: ReviewActor, Kind: EventReviewLapsed,
				Data: data}, now)
			return err
		}, now)
}
