package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/provision"
)

// TokenPrefix starts every API token, so secret scanners and people
// recognise one: rgt_<id>_<secret>.
const TokenPrefix = "rgt_"

// Event kinds of API tokens.
const (
	EventTokenCreated = "token.created"
	EventTokenRevoked = "token.revoked"
	// EventTokenNarrowed: a token lost roles or groups its user no longer
	// holds.
	EventTokenNarrowed = "token.narrowed"
)

// Token is an API token as listed: never its secret.
type Token struct {
	ID          int64
	User        string
	Roles       []Role
	Groups      []string
	Description string
	CreatedBy   string
	CreatedAt   time.Time
	// ExpiresAt nil means the token does not expire.
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Active reports whether the token authenticates at time now.
func (t Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// Actor is who the token speaks for.
func (t Token) Actor() Actor { return Actor{Name: t.User, Roles: t.Roles, Groups: t.Groups} }

// NewToken is what CreateToken stores.
type NewToken struct {
	User        string
	Roles       []Role // empty means requester only
	Groups      []string
	Description string
	ExpiresAt   *time.Time
	// CreatedBy is who made it (the signed-in user, or "cli").
	CreatedBy string
}

// TokenDescriptionFault says why d may not describe a token, in words
// that start with "the description", or returns "" when it may: the
// free-text rule (provision.FreeTextFault), on one line, since lists show
// it in one row, the command line's in columns split by tabs.
func TokenDescriptionFault(d string) string {
	if p := provision.FreeTextFault("the description", d); p != "" {
		return p
	}
	if strings.ContainsAny(d, "\t\r\n") {
		return "the description is one line: replace its line breaks and tabs with spaces"
	}
	return ""
}

// UserNameFault says why name may not be a user's, in words that start
// with "the user name", or returns "" when it may: the free-text rule
// (provision.FreeTextFault), on one line. Names come from the identity
// provider, which may allow anything; one holding a character that makes
// text display in another order than it is written ("\u202eecila" shows
// as "alice") would pass for another person on every page approvers read,
// and one of the names rolegate acts under (IsSystemActor, in any case)
// would pass for rolegate itself.
func UserNameFault(name string) string {
	if p := provision.FreeTextFault("the user name", name); p != "" {
		return p
	}
	if strings.ContainsAny(name, "\t\r\n") {
		return "the user name holds a line break or a tab; a name is one line"
	}
	if IsSystemActor(name) {
		return fmt.Sprintf("the user name %q is reserved: rolegate records its own actions under %s, "+
			"and a person bearing one would pass for rolegate in the audit trail; give this person another name",
			name, strings.Join(systemActors, ", "))
	}
	return ""
}

// CreateToken stores a new token for in.User and returns it with its
// secret form, which is shown once and never stored. It returns ErrInvalid
// for an unknown role, an empty user or one UserNameFault refuses, a
// description TokenDescriptionFault refuses or a past expiry.
func (db *DB) CreateToken(ctx context.Context, in NewToken) (Token, string, error) {
	now := db.now().UTC()
	if strings.TrimSpace(in.User) == "" {
		return Token{}, "", errorf(KindInvalid, "a token needs a user")
	}
	if p := UserNameFault(in.User); p != "" {
		return Token{}, "", errorf(KindInvalid, "%s", p)
	}
	if p := TokenDescriptionFault(in.Description); p != "" {
		return Token{}, "", errorf(KindInvalid, "%s", p)
	}
	if in.CreatedBy == "" {
		in.CreatedBy = in.User
	}
	roles := in.Roles
	if len(roles) == 0 {
		roles = []Role{RoleRequester}
	}
	for _, r := range roles {
		if !r.Valid() {
			return Token{}, "", errorf(KindInvalid, "unknown role %q (want requester, approver or admin)", r)
		}
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return Token{}, "", errorf(KindInvalid, "the token's expiry must be in the future")
	}
	secret, err := randomSecret()
	if err != nil {
		return Token{}, "", fmt.Errorf("token secret: %w", err)
	}
	sum := sha256.Sum256([]byte(secret))
	var t Token
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRow(ctx, `INSERT INTO api_tokens (user_name, roles, groups, description, secret_sha256, created_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+tokenColumns,
			in.User, roleStrings(roles), textArray(in.Groups), in.Description, sum[:], in.CreatedBy, now, in.ExpiresAt))
		if err != nil {
			return err
		}
		data := map[string]any{"token_id": t.ID, "user": t.User, "roles": roleStrings(t.Roles)}
		_, err = db.event(ctx, tx, Event{Actor: in.CreatedBy, Kind: EventTokenCreated, Data: data}, now)
		return err
	})
	if err != nil {
		return Token{}, "", err
	}
	return t, TokenPrefix + strconv.FormatInt(t.ID, 10) + "_" + secret, nil
}

const tokenColumns = `id, user_name, roles, groups, description, created_by, created_at, expires_at, last_used_at, revoked_at`

func scanToken(row pgx.Row) (Token, error) {
	var t Token
	var roles []string
	err := row.Scan(&t.ID, &t.User, &roles, &t.Groups, &t.Description, &t.CreatedBy, &t.CreatedAt,
		&t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt)
	if err != nil {
		return Token{}, interpret(err)
	}
	for _, r := range roles {
		t.Roles = append(t.Roles, Role(r))
	}
	return t, nil
}

func roleStrings(roles []Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

// parseToken splits rgt_<id>_<secret>.
func parseToken(s string) (int64, string, error) {
	rest, ok := strings.CutPrefix(s, TokenPrefix)
	if !ok {
		return 0, "", errorf(KindBadToken, "not a rolegate token (they start with %s)", TokenPrefix)
	}
	idPart, secret, ok := strings.Cut(rest, "_")
	id, idOK := ParseID(idPart)
	if !ok || !idOK || len(secret) != 43 {
		return 0, "", errorf(KindBadToken, "malformed token")
	}
	return id, secret, nil
}

// Authenticate checks a bearer token and records its use (at most once a
// minute, to spare a write per request). It returns ErrBadToken, saying
// whether the token is malformed, unknown, expired or revoked.
func (db *DB) Authenticate(ctx context.Context, token string) (Token, error) {
	id, secret, err := parseToken(token)
	if err != nil {
		return Token{}, err
	}
	now := db.now().UTC()
	// One read, no transaction: this runs on every API call.
	var (
		t      Token
		stored []byte
		roles  []string
	)
	err = db.pool.QueryRow(ctx, `SELECT `+tokenColumns+`, secret_sha256 FROM api_tokens WHERE id = $1`, id).Scan(
		&t.ID, &t.User, &roles, &t.Groups, &t.Description, &t.CreatedBy, &t.CreatedAt,
		&t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt, &stored)
	sum := sha256.Sum256([]byte(secret))
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, errorf(KindBadToken, "unknown token")
	}
	if err != nil {
		return Token{}, interpret(err)
	}
	if subtle.ConstantTimeCompare(sum[:], stored) != 1 {
		return Token{}, errorf(KindBadToken, "unknown token")
	}
	for _, r := range roles {
		t.Roles = append(t.Roles, Role(r))
	}
	switch {
	case t.RevokedAt != nil:
		return Token{}, errorf(KindBadToken, "token %d was revoked", t.ID)
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return Token{}, errorf(KindBadToken, "token %d expired at %s", t.ID, t.ExpiresAt.UTC().Format(time.RFC3339))
	case UserNameFault(t.User) != "":
		// Made before rolegate refused the name (a name it records its
		// own actions under, a line break): it would act as that name.
		return Token{}, errorf(KindBadToken, "token %d belongs to a user name rolegate no longer accepts; an admin must make a new one", t.ID)
	}
	// Last use is recorded at most once a minute, so busy tokens cost one
	// write a minute rather than one per call.
	if t.LastUsedAt == nil || t.LastUsedAt.Before(now.Add(-time.Minute)) {
		if _, err := db.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2
			WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)`, t.ID, now, now.Add(-time.Minute)); err != nil {
			return Token{}, interpret(err)
		}
		t.LastUsedAt = &now
	}
	return t, nil
}

// ListTokens returns the tokens of user, or everyone's when user is empty,
// newest first, revoked and expired ones included.
func (db *DB) ListTokens(ctx context.Context, user string) ([]Token, error) {
	return queryAll(ctx, db.pool, scanToken, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE $1 = '' OR user_name = $1 ORDER BY id DESC`, user)
}

// NarrowTokens takes from the live tokens user made for themself every
// role and group the user no longer holds, as their identity provider now
// says, recording one event per token changed, and returns how many
// changed. A token never gains anything this way. Tokens an admin made for
// the user on the command line (created by "cli") are left alone: they
// stand for automation, not for the person's memberships.
func (db *DB) NarrowTokens(ctx context.Context, user string, roles []Role, groups []string) (int, error) {
	held := make([]string, len(roles))
	for i, r := range roles {
		held[i] = string(r)
	}
	groups = textArray(groups)
	keptRoles, keptGroups, holdsMore := narrowedSQL("$2", "$3")
	var n int
	err := db.pool.QueryRow(ctx, `
		WITH n AS (
			SELECT id, `+keptRoles+` AS roles, `+keptGroups+` AS groups
			FROM api_tokens
			WHERE user_name = $1 AND created_by = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $4)
			  AND `+holdsMore+`
			FOR UPDATE),
		t AS (
			-- A token left with no role could do nothing the user may: it
			-- is revoked.
			UPDATE api_tokens a SET roles = n.roles, groups = n.groups,
				revoked_at = CASE WHEN cardinality(n.roles) = 0 THEN $4 END
			FROM n WHERE a.id = n.id
			RETURNING a.id, a.roles, a.groups, a.revoked_at IS NOT NULL AS revoked),
		e AS (
			INSERT INTO audit_events (actor, kind, data, created_at)
			SELECT $1, $5, jsonb_build_object('token_id', t.id, 'user', $1::text, 'roles', t.roles, 'groups', t.groups,
				'revoked', t.revoked), $4 FROM t)
		SELECT count(*) FROM t`,
		user, held, groups, db.now().UTC(), EventTokenNarrowed).Scan(&n)
	return n, interpret(err)
}

// narrowedSQL is the SQL of the narrowing NarrowTokens and CreateSession
// share, of a row of api_tokens or web_sessions (columns roles and groups)
// to what its user holds now, given as the text-array parameters
// heldRoles and heldGroups ("$2", "$3"): the roles and the groups the row
// keeps, in their order, and the condition that it holds more than those.
// A row never gains anything this way.
func narrowedSQL(heldRoles, heldGroups string) (keptRoles, keptGroups, holdsMore string) {
	kept := func(column, held string) string {
		return "ARRAY(SELECT x FROM unnest(" + column + ") WITH ORDINALITY AS u(x, i) WHERE x = ANY(" + held + "::text[]) ORDER BY i)"
	}
	return kept("roles", heldRoles), kept("groups", heldGroups),
		"NOT (roles <@ " + heldRoles + "::text[] AND groups <@ " + heldGroups + "::text[])"
}

// RevokeToken revokes token id. When owner is not empty only that user's
// token is found (the settings page); the command line passes "". It
// returns ErrNotFound and ErrConflict when the token is already revoked.
func (db *DB) RevokeToken(ctx context.Context, id int64, owner, actor string) (Token, error) {
	now := db.now().UTC()
	var t Token
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = $2
			WHERE id = $1 AND revoked_at IS NULL AND ($3 = '' OR user_name = $3) RETURNING `+tokenColumns, id, now, owner))
		if errors.Is(err, ErrNotFound) {
			var revoked bool
			err := tx.QueryRow(ctx, `SELECT revoked_at IS NOT NULL FROM api_tokens
				WHERE id = $1 AND ($2 = '' OR user_name = $2)`, id, owner).Scan(&revoked)
			if err != nil {
				return interpret(err)
			}
			return errorf(KindConflict, "token %d is already revoked", id)
		}
		if err != nil {
			return err
		}
		if actor == "" {
			actor = t.User
		}
		_, err = db.event(ctx, tx, Event{Actor: actor, Kind: EventTokenRevoked,
			Data: map[string]any{"token_id": t.ID, "user": t.User}}, now)
		return err
	})
	if err != nil {
		return Token{}, err
	}
	return t, nil
}
