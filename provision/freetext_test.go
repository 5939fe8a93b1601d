package provision

import (
	"strings"
	"testing"
	"unicode"
)

func TestFreeTextFault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text, want string
	}{
		{"plain", "the nightly report job reads it", ""},
		{"line breaks and tabs", "first line\r\nsecond\tline\n", ""},
		{"other scripts and emoji", "דוחות לילה · ночные отчёты · 夜間レポート 👍", ""},
		{"bidirectional marks", "עברית\u200f (1) \u200eEnglish \u061c", ""},
		{"zero-width joiner", "👩\u200d💻", ""},
		{"right-to-left override", "access for testing\u202egnitset", "justification contains an invisible control character (U+202E, right-to-left override) at character 19; remove it"},
		{"isolate", "a\u2066b", "justification contains an invisible control character (U+2066, left-to-right isolate) at character 2; remove it"},
		{"pop directional isolate", "\u2069", "justification contains an invisible control character (U+2069, pop directional isolate) at character 1; remove it"},
		{"embedding", "x\u202ay", "justification contains an invisible control character (U+202A, left-to-right embedding) at character 2; remove it"},
		{"bell", "ring\a", "justification contains an invisible control character (U+0007, bell) at character 5; remove it"},
		{"terminal escape", "ci \x1b[31mred", "justification contains an invisible control character (U+001B, escape) at character 4; remove it"},
		{"NUL", "nul\x00", "justification contains an invisible control character (U+0000, null) at character 4; remove it"},
		{"DEL", "del\x7f", "justification contains an invisible control character (U+007F, delete) at character 4; remove it"},
		{"C1 next line", "a\u0085b", "justification contains an invisible control character (U+0085, next line) at character 2; remove it"},
		{"C1 control sequence introducer", "é\u009b31m", "justification contains an invisible control character (U+009B, control sequence introducer) at character 2; remove it"},
		{"counted in characters, not bytes", "déjà vu\u202e", "justification contains an invisible control character (U+202E, right-to-left override) at character 8; remove it"},
		{"on a later line", "why:\r\nthe job\u202e\nends", "justification contains an invisible control character (U+202E, right-to-left override) at character 8 of line 2; remove it"},
		{"several", "\u202ea\u202cb\a", "justification contains 3 invisible control characters, the first (U+202E, right-to-left override) at character 1; remove them"},
		{"not UTF-8", "bad \xff", "justification is not UTF-8 text; write it again or paste it as plain text"},
	} {
		if got := FreeTextFault("justification", tc.text); got != tc.want {
			t.Errorf("%s: FreeTextFault(%q)\n got %q\nwant %q", tc.name, tc.text, got, tc.want)
		}
	}
}

// Every character the rule refuses is one the brief names, and has a
// name people can read; nothing else in those ranges is refused.
func TestFreeTextRuleCoversItsRanges(t *testing.T) {
	t.Parallel()
	refused := func(r rune) bool {
		return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f || (r >= 0x80 && r <= 0x9f) ||
			(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
	}
	for r := rune(0); r <= 0x2100; r++ {
		if got := FreeTextFault("x", "a"+string(r)) != ""; got != refused(r) {
			t.Errorf("%U: refused %t, want %t", r, got, refused(r))
		}
		if refused(r) && (hiddenNames[r] == "" || strings.ToLower(hiddenNames[r]) != hiddenNames[r]) {
			t.Errorf("%U: name %q", r, hiddenNames[r])
		}
	}
	if len(hiddenNames) != 32-3+1+32+5+4 {
		t.Errorf("%d names, want one per refused character", len(hiddenNames))
	}
}

func TestShowHidden(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain, with\r\nline breaks\tand tabs": "plain, with\r\nline breaks\tand tabs",
		"access for \u202egnitset":             "access for [U+202E right-to-left override]gnitset",
		"ci \x1b[31mred\x07":                   "ci [U+001B escape][31mred[U+0007 bell]",
		"\u2067x\u2069 \u0085":                 "[U+2067 right-to-left isolate]x[U+2069 pop directional isolate] [U+0085 next line]",
		"bad \xff":                             "bad \uFFFD",
	} {
		got := ShowHidden(in)
		if got != want {
			t.Errorf("ShowHidden(%q) = %q, want %q", in, got, want)
		}
		if FreeTextFault("x", got) != "" {
			t.Errorf("ShowHidden(%q) = %q, which the rule still refuses", in, got)
		}
		if strings.ContainsFunc(got, func(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }) {
			t.Errorf("ShowHidden(%q) = %q keeps a bidirectional control", in, got)
		}
	}
}
