package contextplane

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidCursor: a cursor this plane did not issue, or one used with a
// different query.
var ErrInvalidCursor = errors.New("invalid cursor")

// QueryCursor is the position of a Read protocol page: the kind being
// listed ("record", then "link"), the last id returned, and the AS-OF
// times the first page resolved, so every page answers at the same times
// (RFC 3339 with nanoseconds, or "forever").
type QueryCursor struct {
	Kind       string `json:"k"`
	After      string `json:"a"`
	AsOfValid  string `json:"v"`
	AsOfSystem string `json:"s"`
	Query      string `json:"q"` // a digest of the query and mask: a cursor answers one query
}

// Encode returns the opaque cursor.
func (c QueryCursor) Encode() string {
	b, _ := json.Marshal(c) // strings only
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeQueryCursor parses a cursor from Encode.
func DecodeQueryCursor(s string) (QueryCursor, error) {
	var c QueryCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err == nil && c.Kind != "record" && c.Kind != "link" {
		err = fmt.Errorf("kind %q", c.Kind)
	}
	if err != nil {
		return QueryCursor{}, fmt.Errorf("%w: %q: pass the next_cursor of the previous page unchanged (%v)", ErrInvalidCursor, s, err)
	}
	return c, nil
}

// syncCursorPrefix marks an export cursor: "plane:<seq>".
const syncCursorPrefix = "plane:"

// EncodeSyncCursor is the opaque export cursor after the version seq.
func EncodeSyncCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(syncCursorPrefix + strconv.FormatInt(seq, 10)))
}

// DecodeSyncCursor parses an export cursor; "" is the start (0).
func DecodeSyncCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		rest, ok := strings.CutPrefix(string(b), syncCursorPrefix)
		var seq int64
		if seq, err = strconv.ParseInt(rest, 10, 64); ok && err == nil && seq >= 0 {
			return seq, nil
		}
	}
	return 0, fmt.Errorf("%w: %q is not a sync cursor of this plane: pass a next_cursor of ExportPlane, or none to start", ErrInvalidCursor, s)
}
