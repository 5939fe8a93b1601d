package iamlocal

// The prefixes IAM puts before the 17 characters of a unique ID.
const (
	rolePrefix    = "AROA"
	profilePrefix = "AIPA"
	policyPrefix  = "ANPA"
)

// newID returns prefix followed by 17 random upper-case letters and digits,
// the shape of IAM unique IDs.
func newID(prefix string) string { return prefix + randomString(17, upperAlnum) }
