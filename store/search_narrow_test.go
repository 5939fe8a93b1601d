package store

import "testing"

func TestNarrowSearchAsksForTheRareWord(t *testing.T) {
	st := &trigramStats{floor: 0.004, share: map[string]float64{
		// every role name is bench-role-N; "user1" is in one request in nine
		"ben": 1, "enc": 1, "nch": 1, "rol": 1, "ole": 1,
		"use": 0.9, "ser": 0.9, "er1": 0.11,
		"993": 0.0054, "prod": 0.3, "pro": 0.3, "rod": 0.3, "num": 0.2, "umb": 0.2, "mbe": 0.2, "ber": 0.2,
	}}
	for _, c := range []struct{ text, want string }{
		{"bench-role-999993", "999993"}, // "999" unlisted, "993" rare
		{"Bench-Role-999993", "999993"}, // case
		{"QUIRKY bench", "QUIRKY"},      // the word as typed: the database's collation folds its case
		{"abc ABC", ""},                 // the same word twice, in two cases
		{"number 4242", "4242"},         // a common word beside a rare number
		{"bench-role", ""},              // nothing rare
		{"999993", ""},                  // one word: the whole text is that question
		{"999993-999993", ""},           // the same word twice
		{"bench-role-42", ""},           // "42" has no trigram
		{"quarterly-audit", ""},         // rare words, no common trigram: the whole text is rarer still
		{"user1", ""},                   //
		{"bench-rôle-999993", ""},       // letters the locale splits: left whole
		{"50%_of bench", ""},            // "of" and "50" have no trigram, bench is common
	} {
		if got := narrowSearch(c.text, st); got != c.want {
			t.Errorf("narrowSearch(%q) = %q, want %q", c.text, got, c.want)
		}
	}
	if got := narrowSearch("bench-role-999993", nil); got != "" {
		t.Errorf("without statistics: %q, want the whole text", got)
	}
}
