package store

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// NarrowSearch is the word ListRequests asks the trigram index for when
// searching text, or "" for the whole text (for the tests of store_test).
func (db *DB) NarrowSearch(ctx context.Context, text string) string {
	db.forgetTrigrams()
	return narrowSearch(text, db.trigrams(ctx))
}

// UnifiedDiff is unifiedDiff, for the tests of store_test.
var UnifiedDiff = unifiedDiff

// InTx is inTx, for the tests of store_test.
func (db *DB) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error { return db.inTx(ctx, fn) }

// WatchSessionsEvery is WatchSessions proving it hears every checkEvery,
// each proof allowed within, for the tests of store_test.
func (db *DB) WatchSessionsEvery(ctx context.Context, log *slog.Logger, checkEvery, within time.Duration) {
	db.watchSessions(ctx, log, sessionWatchTimes{checkEvery: checkEvery, checkWithin: within, maxBackoff: 100 * time.Millisecond})
}

// RememberWithoutWatching turns LookupSession's memory on for an hour with
// no watcher, so only this process's own forgetting can clear it, for the
// tests of store_test.
func (db *DB) RememberWithoutWatching() { db.sessions.reset(time.Now().Add(time.Hour)) }
