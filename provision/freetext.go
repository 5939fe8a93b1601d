package provision

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The free-text rule: what people may write in the fields others read —
// a request's justification, an approver's comment, a review's note, an
// API token's description. Text of any script is welcome, and line breaks
// and tabs; refused are the characters that do not show yet act: the C0
// controls other than tab, line feed and carriage return, DEL, the C1
// controls, which terminals may obey when the text reaches one (the
// command line's lists, a log), and the bidirectional embeddings,
// overrides and isolates, which make text display in another order than
// it is written, so an approver would read one justification and approve
// another. The bidirectional marks (U+200E, U+200F, U+061C) stay
// allowed: right-to-left writers need them, and they cannot reorder a run
// of text, only place a neutral character beside it.

// hiddenNames names every character the free-text rule refuses.
var hiddenNames = map[rune]string{
	0x00: "null", 0x01: "start of heading", 0x02: "start of text", 0x03: "end of text",
	0x04: "end of transmission", 0x05: "enquiry", 0x06: "acknowledge", 0x07: "bell", 0x08: "backspace",
	0x0B: "vertical tab", 0x0C: "form feed", 0x0E: "shift out", 0x0F: "shift in",
	0x10: "data link escape", 0x11: "device control one", 0x12: "device control two",
	0x13: "device control three", 0x14: "device control four", 0x15: "negative acknowledge",
	0x16: "synchronous idle", 0x17: "end of transmission block", 0x18: "cancel", 0x19: "end of medium",
	0x1A: "substitute", 0x1B: "escape", 0x1C: "file separator", 0x1D: "group separator",
	0x1E: "record separator", 0x1F: "unit separator",
	0x7F: "delete",
	0x80: "padding character", 0x81: "high octet preset", 0x82: "break permitted here", 0x83: "no break here",
	0x84: "index", 0x85: "next line", 0x86: "start of selected area", 0x87: "end of selected area",
	0x88: "character tabulation set", 0x89: "character tabulation with justification",
	0x8A: "line tabulation set", 0x8B: "partial line forward", 0x8C: "partial line backward",
	0x8D: "reverse line feed", 0x8E: "single shift two", 0x8F: "single shift three",
	0x90: "device control string", 0x91: "private use one", 0x92: "private use two",
	0x93: "set transmit state", 0x94: "cancel character", 0x95: "message waiting",
	0x96: "start of guarded area", 0x97: "end of guarded area", 0x98: "start of string",
	0x99: "single graphic character introducer", 0x9A: "single character introducer",
	0x9B: "control sequence introducer", 0x9C: "string terminator", 0x9D: "operating system command",
	0x9E: "privacy message", 0x9F: "application program command",
	0x202A: "left-to-right embedding", 0x202B: "right-to-left embedding", 0x202C: "pop directional formatting",
	0x202D: "left-to-right override", 0x202E: "right-to-left override",
	0x2066: "left-to-right isolate", 0x2067: "right-to-left isolate", 0x2068: "first strong isolate",
	0x2069: "pop directional isolate",
}

// hidden reports whether the free-text rule refuses r.
func hidden(r rune) bool {
	_, ok := hiddenNames[r]
	return ok
}

// FreeTextFault says why s may not be kept in a free-text field people
// write and others read, in words that start with field (the field's name
// as people call it: "justification", "the note"), or returns "" when it
// may be kept. It refuses text that is not UTF-8, and the characters of
// the free-text rule above, naming the first one and where it is:
// "justification contains an invisible control character (U+202E,
// right-to-left override) at character 12; remove it". Line breaks and
// tabs are kept; a field of one line refuses them itself.
func FreeTextFault(field, s string) string {
	if !utf8.ValidString(s) {
		return field + " is not UTF-8 text; write it again or paste it as plain text"
	}
	first, count := -1, 0
	for i, r := range s {
		if hidden(r) {
			if first < 0 {
				first = i
			}
			count++
		}
	}
	if first < 0 {
		return ""
	}
	r, _ := utf8.DecodeRuneInString(s[first:])
	what := fmt.Sprintf("(%U, %s) %s", r, hiddenNames[r], position(s, first))
	if count == 1 {
		return fmt.Sprintf("%s contains an invisible control character %s; remove it", field, what)
	}
	return fmt.Sprintf("%s contains %d invisible control characters, the first %s; remove them", field, count, what)
}

// position says where the character at byte offset i of s is, counting
// characters from 1 as people do: "at character 12" in a text of one
// line, "at character 5 of line 3" in one of several.
func position(s string, i int) string {
	before := s[:i]
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	if !strings.Contains(s, "\n") {
		return fmt.Sprintf("at character %d", col)
	}
	return fmt.Sprintf("at character %d of line %d", col, strings.Count(before, "\n")+1)
}

// ShowHidden returns s with every character the free-text rule refuses
// written out where it stands, "[U+202E right-to-left override]", so that
// text stored before the rule shows what it holds instead of acting on
// the page or the terminal it is shown on. Bytes that are not UTF-8
// become U+FFFD. Text the rule accepts is returned as it is.
func ShowHidden(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, hidden) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if hidden(r) {
			fmt.Fprintf(&b, "[%U %s]", r, hiddenNames[r])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
