package resolution

import (
	"strings"
	"unicode/utf8"

	"github.com/contextualflux/cfa/internal/catalog"
)

// The scanner's lexical classes, written out rather than as regular
// expressions: they run on every token of every intent, several times.
// TestTokenClassesMatchPatterns checks each against the pattern it spells:
//
//	token:      \d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|\d+\.\d+|[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*|[a-z0-9_]+|!=|<>|>=|<=|==|=|>|<
//	            (leftmost-first, all matches), plus quoted strings (below)
//	isoDate:    ^\d{4}-\d{2}-\d{2}$
//	slashDate:  ^\d{1,2}/\d{1,2}/\d{2,4}$
//	number:     ^[0-9]+$
//	decimal:    ^\d+\.\d+$
//	qualified:  ^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$ ("nfe.uf": dataset.column)
//
// A quote (' or ") that does not follow a word character and has a
// closing twin opens a quoted string: one token, quotes kept, so
// "uf = 'SP'" and "segmento = 'pessoa fisica'" compare with one value.

// tokenize folds the text and splits it into tokens.
func tokenize(text string) []string {
	l := lex(text)
	return l.tokens
}

// lexed is the text split into tokens: folded (lower case, no accents),
// as the user wrote them (raw: a filter value keeps its case), and
// whether a comma or semicolon came before each (a list separator).
type lexed struct {
	tokens []string
	raw    []string
	comma  []bool
}

// lex folds text rune by rune, remembering where each folded byte came
// from, and splits the folded text into tokens.
func lex(text string) lexed {
	var b strings.Builder
	b.Grow(len(text))
	from := make([]int, 0, len(text)+1) // folded byte -> original byte
	for i, r := range text {
		before := b.Len()
		switch {
		case r >= 'A' && r <= 'Z':
			b.WriteByte(byte(r) + 'a' - 'A')
		case r < utf8.RuneSelf:
			b.WriteByte(byte(r))
		default:
			b.WriteString(catalog.Fold(string(r)))
		}
		for range b.Len() - before {
			from = append(from, i)
		}
	}
	from = append(from, len(text))
	s := b.String()
	l := lexed{tokens: make([]string, 0, strings.Count(s, " ")+1)}
	sep := false
	for i := 0; i < len(s); {
		c := s[i]
		n := 0
		switch {
		case isWordByte(c):
			n = wordTokenPrefix(s[i:])
		case c == '\'' || c == '"':
			if i == 0 || !isWordByte(s[i-1]) {
				if j := strings.IndexByte(s[i+1:], c); j >= 0 {
					n = j + 2
				}
			}
		default:
			n = operatorPrefix(s[i:])
		}
		if n == 0 {
			sep = sep || c == ',' || c == ';'
			i++
			continue
		}
		tok := s[i : i+n]
		raw := text[from[i]:from[i+n]]
		if isQuoted(tok) {
			raw = raw[1 : len(raw)-1]
		}
		l.tokens = append(l.tokens, tok)
		l.raw = append(l.raw, raw)
		l.comma = append(l.comma, sep)
		sep = false
		i += n
	}
	return l
}

// wordTokenPrefix returns the length of the token starting at a word
// byte: an ISO date, a slash date, a decimal, a qualified name or a word.
func wordTokenPrefix(s string) int {
	if n := isoDatePrefix(s); n > 0 {
		return n
	}
	if n := slashDatePrefix(s); n > 0 {
		return n
	}
	if n := decimalPrefix(s); n > 0 {
		return n
	}
	n := 1
	for n < len(s) && isWordByte(s[n]) {
		n++
	}
	if !isDigit(s[0]) && n+1 < len(s) && s[n] == '.' && isNameStart(s[n+1]) {
		m := n + 2
		for m < len(s) && isWordByte(s[m]) {
			m++
		}
		return m
	}
	return n
}

// decimalPrefix returns the length of \d+\.\d+ at the start of s, else 0.
func decimalPrefix(s string) int {
	a := digits(s, len(s))
	if a == 0 || a+1 >= len(s) || s[a] != '.' {
		return 0
	}
	b := digits(s[a+1:], len(s))
	if b == 0 {
		return 0
	}
	return a + 1 + b
}

// operatorPrefix returns the length of a comparison operator at the start
// of s, else 0.
func operatorPrefix(s string) int {
	if len(s) >= 2 {
		switch s[:2] {
		case "!=", "<>", ">=", "<=", "==":
			return 2
		}
	}
	switch s[0] {
	case '=', '>', '<':
		return 1
	}
	return 0
}

func isNameStart(c byte) bool { return c >= 'a' && c <= 'z' || c == '_' }

// isOperator: the token is a comparison operator.
func isOperator(t string) bool { return t != "" && operatorPrefix(t) == len(t) }

// isQuoted: the token is a quoted string.
func isQuoted(t string) bool { return len(t) >= 2 && (t[0] == '\'' || t[0] == '"') }

// isDecimal: the whole token is \d+\.\d+.
func isDecimal(t string) bool { return t != "" && decimalPrefix(t) == len(t) }

// isQualified: the whole token is dataset.column.
func isQualified(t string) bool {
	i := strings.IndexByte(t, '.')
	return i > 0 && isNameStart(t[0]) && !isDecimal(t) && wordTokenPrefix(t) == len(t)
}

// isLiteral reports tokens that can only be values: numbers, decimals,
// dates, quoted strings and operators.
func isLiteral(t string) bool {
	return isNumber(t) || isDecimal(t) || isISODate(t) || isSlashDate(t) || isQuoted(t) || isOperator(t)
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
