package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"
)

// Cookie names. The session cookie carries the browser's session ID; the
// auth cookie carries the OIDC state, nonce and PKCE verifier between the
// redirect and the callback; the flash cookie one message. With Secure
// cookies each name gets the __Host- prefix (see cookies.name).
const (
	SessionCookie = "rolegate_session"
	AuthCookie    = "rolegate_auth"
	FlashCookie   = "rolegate_flash"
)

// session is what the session cookie holds, sealed: the secret ID of the
// browser's session and, once signed in, whose it is. The server's row
// (store.Session) is what counts: User only spares a database read for
// browsers that never signed in. A browser that is not signed in has an
// ID too, which its CSRF token is derived from, but no row.
type session struct {
	ID   string `json:"i"`
	User string `json:"u,omitempty"`
}

// cookieCodec seals values into cookies with AES-256-GCM: the browser can
// neither read nor alter them. The cookie name is authenticated too, so a
// value cannot be moved from one cookie to another.
type cookieCodec struct {
	aead    cipher.AEAD
	csrfKey []byte
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
	ck := sha256.Sum256(append([]byte("rolegate csrf v1\x00"), key...))
	return &cookieCodec{aead: aead, csrfKey: ck[:]}, nil
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
// attributes everywhere: Path=/, HttpOnly, SameSite=Lax, Secure when
// configured or when the request is known to be HTTPS (knownHTTPS: TLS,
// or a trusted proxy says so). With Secure configured the names carry the
// __Host- prefix, so browsers refuse the cookie from a sibling subdomain
// or over plain HTTP: nobody can plant a session (and its CSRF token) in
// another user's browser. The prefix follows the setting only, not the
// request, so a cookie keeps one name whichever way it comes back.
type cookies struct {
	codec  *cookieCodec
	secure bool
	// trusted are the proxies whose X-Forwarded-Proto counts.
	trusted []netip.Prefix
}

// secureFor reports whether a cookie set in answer to r is Secure.
func (k *cookies) secureFor(r *http.Request) bool {
	return k.secure || knownHTTPS(k.trusted, r)
}

// name is the cookie's name as sent: base, with the __Host- prefix when
// cookies are Secure.
func (k *cookies) name(base string) string {
	if k.secure {
		return "__Host-" + base
	}
	return base
}

func (k *cookies) set(c echo.Context, base string, v any, expires time.Time) error {
	name := k.name(base)
	val, err := k.codec.seal(name, v, expires)
	if err != nil {
		return err
	}
	http.SetCookie(c.Response(), &http.Cookie{
		Name: name, Value: val, Path: "/", Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: k.secureFor(c.Request()),
	})
	return nil
}

func (k *cookies) get(c echo.Context, base string, v any) error {
	name := k.name(base)
	ck, err := c.Cookie(name)
	if err != nil {
		return errBadCookie
	}
	return k.codec.open(name, ck.Value, v, time.Now())
}

func (k *cookies) clear(c echo.Context, base string) {
	http.SetCookie(c.Response(), &http.Cookie{
		Name: k.name(base), Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(1, 0),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: k.secureFor(c.Request()),
	})
}

// csrfToken is the CSRF token of session ID sid acting as user ("" when
// signed out): an HMAC under a key derived from the session key, so it
// can be recomputed rather than stored, and it is good only for that
// session and that user. A cookie and token pair made for mallory are
// refused when the proxy says the request comes from eve.
func (c *cookieCodec) csrfToken(sid, user string) string {
	m := hmac.New(sha256.New, c.csrfKey)
	m.Write([]byte(sid))
	m.Write([]byte{0})
	m.Write([]byte(user))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// RandomToken is 256 random bits, URL-safe base64: session IDs, OIDC
// state and nonces.
func RandomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SignedOutCSRF is the CSRF token of a browser holding cks before it signs
// in under id, as Identify computes it; "" when cks hold no session sealed
// with id's key. It serves clients (and tests) that post a form without
// fetching the page that carries the token.
func SignedOutCSRF(id Identity, cks []*http.Cookie) string {
	codec, err := newCookieCodec(id.SessionKey)
	if err != nil {
		return ""
	}
	name := (&cookies{codec: codec, secure: id.CookieSecure}).name(SessionCookie)
	for _, ck := range cks {
		var s session
		if ck.Name == name && codec.open(name, ck.Value, &s, time.Now()) == nil {
			return codec.csrfToken(s.ID, "")
		}
	}
	return ""
}
