package store

import "strconv"

// ParseID reads an ID (of a request, a token, an event) as rolegate writes
// it: decimal digits without sign, leading zeros or spaces, from 1 up. It
// returns false for anything else, so "+1", "01" and "1 " never name
// the same thing as "1".
func ParseID(s string) (int64, bool) {
	if s == "" || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}
