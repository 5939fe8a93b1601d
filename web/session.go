package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
)

// Cookie names. The session carries the signed-in user and the CSRF token;
// the auth cookie carries the OIDC state, nonce and PKCE verifier between
// the redirect and the callback; the flash cookie one message.
const (
	sessionCookie = "rolegate_session"
	authCookie    = "rolegate_auth"
	flashCookie   = "rolegate_flash"
)

// session is what the session cookie holds, sealed: who is signed in
// (empty when nobody is) and the CSRF token of this browser.
type session struct {
	User    string       `json:"u,omitempty"`
	Roles   []store.Role `json:"r,omitempty"`
	Groups  []string     `json:"g,omitempty"`
	CSRF    string       `json:"c"`
	Expires int64        `json:"e"`
}

func (s *session) actor() (store.Actor, bool) {
	if s.User == "" {
		return store.Actor{}, false
	}
	return store.Actor{Name: s.User, Roles: s.Roles, Groups: s.Groups}, true
}

// cookieCodec seals values into cookies with AES-256-GCM: the browser can
// neither read nor alter them. The cookie name is authenticated too, so a
// value cannot be moved from one cookie to another.
type cookieCodec struct {
	aead cipher.AEAD
}

// errBadCookie: a cookie that is missing, expired, or not sealed with our key.
var errBadCookie = errors.New("cookie is missing, expired or not ours")

func newCookieCodec(key []byte) (*cookieCodec, error) {
	if len(key) < 32 {
		return nil, errors.New("session key must be at least 32 bytes")
	}
	k := sha256.Sum256(append([]byte("rolegate cookie v1\x00"), key...))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &cookieCodec{aead: aead}, nil
}

type envelope struct {
	Exp int64           `json:"x"`
	V   json.RawMessage `json:"v"`
}

func (c *cookieCodec) seal(name string, v any, expires time.Time) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(envelope{Exp: expires.Unix(), V: raw})
	if err != nil {
		return "", err
	}
	nonce := make([]byte, c.aead.NonceSize())
	rand.Read(nonce)
	out := c.aead.Seal(nonce, nonce, plain, []byte(name))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

func (c *cookieCodec) open(name, value string, v any, now time.Time) error {
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) < c.aead.NonceSize() {
		return errBadCookie
	}
	n := c.aead.NonceSize()
	plain, err := c.aead.Open(nil, b[:n], b[n:], []byte(name))
	if err != nil {
		return errBadCookie
	}
	var env envelope
	if err := json.Unmarshal(plain, &env); err != nil || now.Unix() >= env.Exp {
		return errBadCookie
	}
	if err := json.Unmarshal(env.V, v); err != nil {
		return errBadCookie
	}
	return nil
}

// cookies writes and reads rolegate's sealed cookies with the same
// attributes everywhere: HttpOnly, SameSite=Lax, Secure when configured or
// when the request came over TLS.
type cookies struct {
	codec  *cookieCodec
	secure bool
}

func (k *cookies) set(c echo.Context, name, path string, v any, expires time.Time) error {
	val, err := k.codec.seal(name, v, expires)
	if err != nil {
		return err
	}
	http.SetCookie(c.Response(), &http.Cookie{
		Name: name, Value: val, Path: path, Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: k.secure || c.Request().TLS != nil,
	})
	return nil
}

func (k *cookies) get(c echo.Context, name string, v any) error {
	ck, err := c.Cookie(name)
	if err != nil {
		return errBadCookie
	}
	return k.codec.open(name, ck.Value, v, time.Now())
}

func (k *cookies) clear(c echo.Context, name, path string) {
	http.SetCookie(c.Response(), &http.Cookie{
		Name: name, Value: "", Path: path, MaxAge: -1, Expires: time.Unix(1, 0),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: k.secure || c.Request().TLS != nil,
	})
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
