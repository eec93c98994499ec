// Package redact makes connection strings and URLs safe to print: in a log
// line, an error, a CLI message or anything that reaches a Temporal
// history. It is not a whitepaper component; it is the one place that
// decides what of a configured address may be shown (docs/adr/0111).
//
// The rule: a credential is never printed. A URL keeps its scheme, user,
// host, path and harmless query parameters and loses its password and the
// values of parameters whose names say they hold a secret; a Postgres
// keyword/value string loses the same values; a string that parses as
// neither, or whose parts are ambiguous (an '@' past the host), is not
// printed at all, since no one can tell which part of it is the password.
package redact

import (
	"net/url"
	"strings"
)

// Mask replaces a secret value.
const Mask = "xxxxx"

// Unprintable stands for a string that cannot be shown safely.
const Unprintable = "(not shown: not a valid URL or connection string, and it may hold a password)"

// URL returns s, a URL or a Postgres connection string (URL or keyword/value
// form), with its credentials masked, or Unprintable when s cannot be parsed
// unambiguously.
func URL(s string) string {
	switch {
	case s == "":
		return ""
	case hasScheme(s):
		return redactURL(s)
	default:
		return redactKeywords(s)
	}
}

// Origin returns only the scheme and host of the URL s ("https://hooks.example.com"),
// for URLs whose path may itself be the credential, as many webhook URLs'
// is; Unprintable when s is not an absolute URL.
func Origin(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return Unprintable
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}

// Sensitive reports whether a parameter named name holds a secret:
// password, sslpassword, token, api_key, secret, sig, X-Amz-Signature, ...
// A false positive only hides a value; a false negative prints a secret.
func Sensitive(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"pass", "pwd", "secret", "token", "key", "sig", "auth", "credential", "session", "cookie"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// hasScheme reports whether s starts with scheme "://".
func hasScheme(s string) bool {
	i := strings.Index(s, "://")
	if i <= 0 {
		return false
	}
	for j, c := range s[:i] {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case j > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse's error quotes s: never show it.
		return Unprintable
	}
	// An '@' past the authority means the string's boundaries are ambiguous
	// (a password holding '/', '?' or '#' and a numeric start, say): another
	// parser may read the password where this one reads a path.
	if u.Opaque != "" || strings.Contains(u.Path, "@") || strings.Contains(u.RawPath, "@") ||
		strings.Contains(u.RawQuery, "@") || strings.Contains(u.Fragment, "@") {
		return Unprintable
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), Mask)
		}
	}
	u.RawQuery = redactParams(u.RawQuery)
	if u.Fragment != "" {
		u.Fragment, u.RawFragment = Mask, ""
	}
	return u.String()
}

// redactParams masks the values of sensitive parameters in a raw query,
// keeping the order and separators ('&' or ';') as they were.
func redactParams(raw string) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	for raw != "" {
		end := strings.IndexAny(raw, "&;")
		part, sep := raw, ""
		if end >= 0 {
			part, sep, raw = raw[:end], raw[end:end+1], raw[end+1:]
		} else {
			raw = ""
		}
		key, _, hasValue := strings.Cut(part, "=")
		name, err := url.QueryUnescape(key)
		if err != nil {
			name = key
		}
		if Sensitive(name) && hasValue {
			part = key + "=" + Mask
		}
		b.WriteString(part)
		b.WriteString(sep)
	}
	return b.String()
}

// redactKeywords rewrites a libpq keyword/value string ("host=db
// password='a b'") with the values of sensitive keywords masked; a string
// that does not tokenize as one is Unprintable.
func redactKeywords(s string) string {
	pairs, ok := keywords(s)
	if !ok || len(pairs) == 0 {
		return Unprintable
	}
	out := make([]string, 0, len(pairs))
	for _, p := range pairs {
		v := p[1]
		if Sensitive(p[0]) {
			v = Mask
		}
		out = append(out, p[0]+"="+quote(v))
	}
	return strings.Join(out, " ")
}

// keywords tokenizes s by libpq's rules: key = value pairs separated by
// white space, a value unquoted (backslash escapes) or single-quoted.
func keywords(s string) ([][2]string, bool) {
	var pairs [][2]string
	i := 0
	skip := func() {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
	}
	for {
		skip()
		if i == len(s) {
			return pairs, true
		}
		start := i
		for i < len(s) && isKeyChar(s[i]) {
			i++
		}
		key := s[start:i]
		skip()
		if key == "" || i == len(s) || s[i] != '=' {
			return nil, false
		}
		i++
		skip()
		var v strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				i++
				if c == '\\' && i < len(s) {
					v.WriteByte(s[i])
					i++
					continue
				}
				if c == '\'' {
					closed = true
					break
				}
				v.WriteByte(c)
			}
			if !closed {
				return nil, false
			}
		} else {
			for i < len(s) && !isSpace(s[i]) {
				c := s[i]
				i++
				if c == '\\' && i < len(s) {
					c = s[i]
					i++
				}
				v.WriteByte(c)
			}
		}
		pairs = append(pairs, [2]string{key, v.String()})
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// quote writes a keyword value back so it reads as it parses.
func quote(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n\r\v\f'\\") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
