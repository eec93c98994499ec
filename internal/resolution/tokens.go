package resolution

import (
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
)

// The scanner's lexical classes, written out rather than as regular
// expressions: they run on every token of every intent, several times.
// TestTokenClassesMatchPatterns checks each against the pattern it spells:
//
//	token:      \d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|[a-z0-9_]+  (leftmost-first, all matches)
//	isoDate:    ^\d{4}-\d{2}-\d{2}$
//	slashDate:  ^\d{1,2}/\d{1,2}/\d{2,4}$
//	number:     ^[0-9]+$

// tokenize folds the text and splits it into tokens: ISO dates, slash
// dates (rejected later as ambiguous) and runs of [a-z0-9_].
func tokenize(text string) []string {
	s := catalog.Fold(text)
	tokens := make([]string, 0, strings.Count(s, " ")+1)
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) {
			i++
			continue
		}
		n := isoDatePrefix(s[i:])
		if n == 0 {
			n = slashDatePrefix(s[i:])
		}
		if n == 0 {
			for n = 1; i+n < len(s) && isWordByte(s[i+n]); n++ {
			}
		}
		tokens = append(tokens, s[i:i+n])
		i += n
	}
	return tokens
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || isDigit(c) || c == '_'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits counts the leading ASCII digits of s, up to limit.
func digits(s string, limit int) int {
	n := 0
	for n < len(s) && n < limit && isDigit(s[n]) {
		n++
	}
	return n
}

// isoDatePrefix returns 10 when s starts with \d{4}-\d{2}-\d{2}, else 0.
func isoDatePrefix(s string) int {
	if len(s) < 10 || digits(s, 4) != 4 || s[4] != '-' || digits(s[5:], 2) != 2 || s[7] != '-' || digits(s[8:], 2) != 2 {
		return 0
	}
	return 10
}

// slashDatePrefix returns the length of the match of \d{1,2}/\d{1,2}/\d{2,4}
// at the start of s, else 0. Like the regular expression it prefers two
// digits to one in the first two fields and as many as four in the last.
func slashDatePrefix(s string) int {
	for a := digits(s, 2); a >= 1; a-- {
		if a >= len(s) || s[a] != '/' {
			continue
		}
		rest := s[a+1:]
		for b := digits(rest, 2); b >= 1; b-- {
			if b >= len(rest) || rest[b] != '/' {
				continue
			}
			if c := digits(rest[b+1:], 4); c >= 2 {
				return a + 1 + b + 1 + c
			}
		}
	}
	return 0
}

// isISODate: the whole token is \d{4}-\d{2}-\d{2}.
func isISODate(t string) bool { return len(t) == 10 && isoDatePrefix(t) == 10 }

// isSlashDate: the whole token is \d{1,2}/\d{1,2}/\d{2,4}.
func isSlashDate(t string) bool {
	// The prefix match is the longest one whenever the token is all date:
	// greedy fields that fail to reach the end leave no shorter field that
	// could, since a field followed by '/' cannot give up a digit.
	return t != "" && slashDatePrefix(t) == len(t)
}

// isNumber: the whole token is [0-9]+.
func isNumber(t string) bool { return t != "" && digits(t, len(t)) == len(t) }
