package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/store/jobargs"
)

// Event is one entry of the append-only audit trail.
type Event struct {
	ID int64
	// RequestID and Version are zero for events about no request.
	RequestID int64
	Version   int
	Actor     string
	Kind      string
	Data      map[string]any
	CreatedAt time.Time
	// Account is the account of the event's request, when it has one;
	// ListEvents fills it in (it is not part of the hashed event).
	Account string
}

// AppendEvent adds e to the audit trail and returns it with its ID and
// time. It returns ErrInvalid for an empty actor or a malformed kind, and
// ErrInvalid when RequestID names no request.
func (db *DB) AppendEvent(ctx context.Context, e Event) (Event, error) {
	var out Event
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = db.event(ctx, tx, e, db.now().UTC())
		return err
	})
	return out, err
}

// event appends e inside tx and, for the kinds webhooks receive, enqueues
// one delivery per configured URL in the same transaction, so a
// notification exists exactly when its event does.
func (db *DB) event(ctx context.Context, tx pgx.Tx, e Event, now time.Time) (Event, error) {
	e, err := appendEvent(ctx, tx, e, now)
	if err != nil {
		return e, err
	}
	if err := db.notify(ctx, tx, e); err != nil {
		return Event{}, err
	}
	return e, nil
}

// notify enqueues, in tx, one webhook delivery per configured URL for an
// event of a kind webhooks receive.
func (db *DB) notify(ctx context.Context, tx pgx.Tx, e Event) error {
	if !notified(e.Kind) {
		return nil
	}
	for i, url := range db.webhooks {
		if err := db.enqueue(ctx, tx, jobargs.Webhook{Receiver: jobargs.ReceiverID(url), EventID: e.ID, Target: i, Payload: webhookPayload(e)}); err != nil {
			return err
		}
	}
	return nil
}

const insertEvent = `
		INSERT INTO audit_events (request_id, version, actor, kind, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING id, created_at, coalesce((SELECT r.account FROM requests r WHERE r.id = audit_events.request_id), '')`

// eventArgs are insertEvent's arguments for e; a zero RequestID or
// Version is stored as NULL.
func eventArgs(e *Event, now time.Time) []any {
	if e.Data == nil {
		e.Data = map[string]any{}
	}
	var reqID *int64
	var version *int
	if e.RequestID != 0 {
		reqID = &e.RequestID
	}
	if e.Version != 0 {
		version = &e.Version
	}
	return []any{reqID, version, e.Actor, e.Kind, e.Data, now}
}

// appendEvent writes e unsealed; the worker's audit-seal job numbers and
// chains committed events in ID order (migration 00005).
func appendEvent(ctx context.Context, q querier, e Event, now time.Time) (Event, error) {
	err := q.QueryRow(ctx, insertEvent, eventArgs(&e, now)...).Scan(&e.ID, &e.CreatedAt, &e.Account)
	if err != nil {
		return Event{}, interpret(err)
	}
	return e, nil
}

// sendEvents sends b in tx followed by the inserts of events, in order,
// in one round trip (however many steps a worker records), then enqueues
// the webhook deliveries of events as event does. It fills in each
// event's ID, time and account, and returns the first error of b's
// statements, a PostgreSQL one interpreted.
func (db *DB) sendEvents(ctx context.Context, tx pgx.Tx, b *pgx.Batch, events []Event, now time.Time) error {
	for i := range events {
		e := &events[i]
		b.Queue(insertEvent, eventArgs(e, now)...).QueryRow(func(row pgx.Row) error {
			return row.Scan(&e.ID, &e.CreatedAt, &e.Account)
		})
	}
	if err := interpret(tx.SendBatch(ctx, b).Close()); err != nil {
		return err
	}
	for _, e := range events {
		if err := db.notify(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}

// EventFilter narrows ListEvents. Zero fields do not filter.
type EventFilter struct {
	RequestID int64
	Actor     string
	Kind      string
	Since     time.Time
	Until     time.Time
	// AfterID continues from the last event of a previous page.
	AfterID int64
	// NewestFirst lists the newest events first; BeforeID then continues
	// from the last (oldest) event of a previous page.
	NewestFirst bool
	BeforeID    int64
	// Limit is the page size, 1..1000; default 100.
	Limit int
}

// ListEvents returns events matching f, oldest first unless f.NewestFirst.
// It returns ErrInvalid for a page size over 1000.
func (db *DB) ListEvents(ctx context.Context, f EventFilter) ([]Event, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > 1000 {
		return nil, errorf(KindInvalid, "page size %d is over 1000", limit)
	}
	var (
		where = []string{"TRUE"}
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.RequestID != 0 {
		add("request_id = $%d", f.RequestID)
	}
	if f.Actor != "" {
		add("actor = $%d", f.Actor)
	}
	if f.Kind != "" {
		add("kind = $%d", f.Kind)
	}
	if !f.Since.IsZero() {
		add("created_at >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		add("created_at < $%d", f.Until)
	}
	if f.AfterID != 0 {
		add("id > $%d", f.AfterID)
	}
	if f.BeforeID != 0 {
		add("id < $%d", f.BeforeID)
	}
	order := "id"
	if f.NewestFirst {
		order = "id DESC"
	}
	args = append(args, limit)
	rows, err := db.pool.Query(ctx, fmt.Sprintf(`
		SELECT e.id, coalesce(e.request_id, 0), coalesce(e.version, 0), e.actor, e.kind, e.data, e.created_at,
		       coalesce((SELECT r.account FROM requests r WHERE r.id = e.request_id), '')
		FROM (SELECT * FROM audit_events WHERE %s ORDER BY %s LIMIT $%d) e ORDER BY %s`,
		strings.Join(where, " AND "), order, len(args), order), args...)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	out := make([]Event, 0, min(limit, 100))
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.RequestID, &e.Version, &e.Actor, &e.Kind, &e.Data, &e.CreatedAt, &e.Account); err != nil {
			return nil, interpret(err)
		}
		out = append(out, e)
	}
	return out, interpret(rows.Err())
}
