package iamlocal

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// credentials are what a request says about who signed it: the access key
// ID from the SigV4 Authorization header's Credential= part and the
// session token from X-Amz-Security-Token. The signature is not checked.
type credentials struct{ accessKeyID, sessionToken string }

// credentialsOf reads a request's credentials; both are "" when absent.
func credentialsOf(r *http.Request) credentials {
	c := credentials{sessionToken: r.Header.Get("X-Amz-Security-Token")}
	_, rest, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if ok {
		c.accessKeyID, _, _ = strings.Cut(rest, "/")
	}
	return c
}

// sessionKeyPrefix starts the access key IDs of temporary credentials.
const sessionKeyPrefix = "ASIA"

// sessionRetention is how long an expired session is kept to answer
// ExpiredToken; past it the key is forgotten (InvalidClientTokenId).
const sessionRetention = 24 * time.Hour

// session is one set of temporary credentials AssumeRole issued.
type session struct {
	account     string // the role's account, where the session acts
	roleName    string
	roleARN     string
	roleID      string
	name        string // RoleSessionName
	secret      string
	token       string
	expires     time.Time
	accessKeyID string
}

// arn is the assumed-role ARN, as STS names the session (without the
// role's path).
func (se *session) arn() string {
	return "arn:aws:sts::" + se.account + ":assumed-role/" + se.roleName + "/" + se.name
}

// userID is the session's unique ID: the role's ID and the session name.
func (se *session) userID() string { return se.roleID + ":" + se.name }

// caller is who a call acts as: an account and, for temporary
// credentials, the session.
type caller struct {
	account string
	session *session // nil for plain credentials
}

// arn is the caller's ARN: the assumed-role ARN or the account's root.
func (c caller) arn() string {
	if c.session != nil {
		return c.session.arn()
	}
	return rootARN(c.account)
}

func rootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

// authenticate tells which account a request acts in. Plain credentials
// (any key not starting with ASIA) act in the first account. A session key
// must be one AssumeRole issued, with its session token, and unexpired;
// otherwise it answers InvalidClientTokenId or ExpiredToken as AWS does.
func (s *Server) authenticate(c credentials) (caller, *apiError) {
	if !strings.HasPrefix(c.accessKeyID, sessionKeyPrefix) {
		return caller{account: s.opts.Accounts[0]}, nil
	}
	se, ok := s.sessions[c.accessKeyID]
	if !ok || se.token != c.sessionToken {
		return caller{}, newError("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	if !s.now().Before(se.expires) {
		return caller{}, newError("ExpiredToken", "The security token included in the request is expired")
	}
	return caller{account: se.account, session: se}, nil
}

// startSession issues temporary credentials for role r of account in a
// session named name lasting d, and forgets sessions expired longer than
// sessionRetention ago.
func (s *Server) startSession(account string, r *role, name string, d time.Duration) *session {
	now := s.now()
	for key, old := range s.sessions {
		if now.Sub(old.expires) > sessionRetention {
			delete(s.sessions, key)
		}
	}
	se := &session{
		account: account, roleName: r.Name, roleARN: roleARNIn(account, r), roleID: r.ID, name: name,
		accessKeyID: sessionKeyPrefix + randomString(16, upperAlnum),
		secret:      randomString(40, base64Alphabet),
		token:       randomToken(),
		expires:     now.Add(d),
	}
	s.sessions[se.accessKeyID] = se
	return se
}

const (
	upperAlnum     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// randomString returns n random characters of alphabet.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// randomToken returns an opaque session token, as long as STS's usually are.
func randomToken() string {
	b := make([]byte, 300)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
