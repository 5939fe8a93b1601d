package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// EventSessionsEnded: an admin (or the user) ended every browser session
// of a user.
const EventSessionsEnded = "session.ended"

// sessionCleanupBatch is how many expired sessions each new session
// deletes: more than one, so the table never holds more expired rows than
// the sessions started since they expired.
const sessionCleanupBatch = 100

// Session is a signed-in browser session as stored: never its ID, which
// only the browser's cookie holds.
type Session struct {
	// Ref numbers the session in lists; it is not the secret ID.
	Ref    int64
	User   string
	Roles  []Role
	Groups []string
	// SignedInAt is when the user last proved who they are: the sign-in,
	// or the identity provider's authentication time.
	SignedInAt time.Time
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Actor is who the session speaks for.
func (s Session) Actor() Actor { return Actor{Name: s.User, Roles: s.Roles, Groups: s.Groups} }

// NewSession is what CreateSession stores.
type NewSession struct {
	User   string
	Roles  []Role
	Groups []string
	// SignedInAt is when the user authenticated; zero, or a time after
	// now, means now.
	SignedInAt time.Time
	// Lifetime is how long the session lasts from now.
	Lifetime time.Duration
}

const sessionColumns = `id, user_name, roles, groups, signed_in_at, created_at, expires_at`

func scanSession(row pgx.Row) (Session, error) {
	var s Session
	var roles []string
	if err := row.Scan(&s.Ref, &s.User, &roles, &s.Groups, &s.SignedInAt, &s.CreatedAt, &s.ExpiresAt); err != nil {
		return Session{}, interpret(err)
	}
	for _, r := range roles {
		s.Roles = append(s.Roles, Role(r))
	}
	return s, nil
}

func sessionHash(id string) []byte {
	sum := sha256.Sum256([]byte("rolegate session\x00" + id))
	return sum[:]
}

// CreateSession starts a session for in.User and returns it with its
// secret ID, which only the browser keeps; the database holds its hash.
// The user's other live sessions lose the roles and groups this sign-in
// does not hold, as NarrowTokens narrows tokens (narrowedSQL): the newest
// sign-in says what the user holds now, and a browser signed in before
// (with roles kept for its lifetime) must not act, or make API tokens,
// with more.
// Up to a hundred expired sessions are deleted on the way. It returns
// ErrInvalid for an empty user, one UserNameFault refuses, an unknown role
// or a lifetime that is not positive.
func (db *DB) CreateSession(ctx context.Context, in NewSession) (Session, string, error) {
	now := db.now().UTC()
	if strings.TrimSpace(in.User) == "" {
		return Session{}, "", errorf(KindInvalid, "a session needs a user")
	}
	if p := UserNameFault(in.User); p != "" {
		return Session{}, "", errorf(KindInvalid, "%s", p)
	}
	if in.Lifetime <= 0 {
		return Session{}, "", errorf(KindInvalid, "a session needs a positive lifetime")
	}
	for _, r := range in.Roles {
		if !r.Valid() {
			return Session{}, "", errorf(KindInvalid, "unknown role %q", r)
		}
	}
	signedIn := in.SignedInAt.UTC()
	if signedIn.IsZero() || signedIn.After(now) {
		signedIn = now
	}
	id, err := randomSecret()
	if err != nil {
		return Session{}, "", fmt.Errorf("session ID: %w", err)
	}
	var s Session
	keptRoles, keptGroups, holdsMore := narrowedSQL("$3", "$4")
	err = db.oneStatement(ctx, func(q querier) error {
		var err error
		s, err = scanSession(q.QueryRow(ctx, `
			WITH gone AS (
				DELETE FROM web_sessions WHERE id IN (
					SELECT id FROM web_sessions WHERE expires_at <= $6 ORDER BY expires_at LIMIT $8)),
			-- The user's other sessions keep only what this sign-in holds.
			narrowed AS (
				UPDATE web_sessions SET roles = `+keptRoles+`, groups = `+keptGroups+`
				WHERE user_name = $2 AND expires_at > $6 AND `+holdsMore+`)
			INSERT INTO web_sessions (id_sha256, user_name, roles, groups, signed_in_at, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+sessionColumns,
			sessionHash(id), in.User, roleStrings(in.Roles), textArray(in.Groups), signedIn, now, now.Add(in.Lifetime), sessionCleanupBatch))
		return err
	}, func() (bool, error) {
		_, err := db.LookupSession(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	})
	// The user's other sessions may have been narrowed.
	db.forgetUserSessions(in.User)
	if err != nil {
		return Session{}, "", err
	}
	return s, id, nil
}

// LookupSession returns the live session with secret ID id, asked for on
// every page a signed-in browser opens: one indexed read, or none while
// WatchSessions hears every change to the sessions and this one was read
// less than 30 seconds ago. It returns ErrNotFound when no such session
// exists, it was ended, or it expired; a refusal is never remembered.
func (db *DB) LookupSession(ctx context.Context, id string) (Session, error) {
	if id == "" {
		return Session{}, ErrNotFound
	}
	h := sessionHash(id)
	now := db.now().UTC()
	if s, ok := db.sessions.get([32]byte(h), now); ok {
		db.sessions.fromMemory.Add(1)
		return s, nil
	}
	db.sessions.fromDatabase.Add(1)
	gen, keep := db.sessions.begin()
	s, err := scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM web_sessions
		WHERE id_sha256 = $1 AND expires_at > $2`, h, now))
	if err == nil && UserNameFault(s.User) != "" {
		// Started before rolegate refused the name (a name it records
		// its own actions under, a line break): it would act as that name.
		return Session{}, ErrNotFound
	}
	if err == nil && keep {
		db.sessions.put([32]byte(h), s, now, gen)
	}
	return s, err
}

// EndSession ends the session with secret ID id (signing out). Ending a
// session that is already gone is not an error.
func (db *DB) EndSession(ctx context.Context, id string) error {
	h := sessionHash(id)
	_, err := db.pool.Exec(ctx, `DELETE FROM web_sessions WHERE id_sha256 = $1`, h)
	db.forgetSession(h)
	return interpret(err)
}

// EndUserSessions ends every session of user, records who did it in the
// audit trail when any ended, and returns how many ended.
func (db *DB) EndUserSessions(ctx context.Context, user, actor string) (int, error) {
	now := db.now().UTC()
	var n int
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE user_name = $1`, user)
		if err != nil {
			return interpret(err)
		}
		n = int(tag.RowsAffected())
		if n == 0 {
			return nil
		}
		_, err = db.event(ctx, tx, Event{Actor: actor, Kind: EventSessionsEnded,
			Data: map[string]any{"user": user, "sessions": n}}, now)
		return err
	})
	db.forgetUserSessions(user)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// ListSessions returns the live sessions of user, or everyone's when user
// is empty, newest first, at most limit of them.
func (db *DB) ListSessions(ctx context.Context, user string, limit int) ([]Session, error) {
	return queryAll(ctx, db.pool, scanSession, `SELECT `+sessionColumns+` FROM web_sessions
		WHERE ($1 = '' OR user_name = $1) AND expires_at > $2 ORDER BY id DESC LIMIT $3`, user, db.now().UTC(), limit)
}
