package iamlocal

import "crypto/rand"

// The prefixes IAM puts before the 17 characters of a unique ID.
const (
	rolePrefix    = "AROA"
	profilePrefix = "AIPA"
	policyPrefix  = "ANPA"
)

// newID returns prefix followed by 17 random upper-case letters and digits,
// the shape of IAM unique IDs.
func newID(prefix string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [17]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b[:])
}
