package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// maxValue bounds a value shown in a difference.
const maxValue = 240

// firstDiff compares two JSON documents and returns the path of the first
// difference (object keys in sorted order, arrays by index) with both
// values; ok is false when they are equal as JSON. Numbers compare as
// written, so 1 and 1.0 differ: the records are encoding/json's output on
// both sides.
func firstDiff(recorded, replayed []byte) (path, a, b string, ok bool) {
	var x, y any
	dx, dy := json.NewDecoder(bytes.NewReader(recorded)), json.NewDecoder(bytes.NewReader(replayed))
	dx.UseNumber()
	dy.UseNumber()
	if err := dx.Decode(&x); err != nil {
		return "", short(string(recorded)), short(string(replayed)), !bytes.Equal(recorded, replayed)
	}
	if err := dy.Decode(&y); err != nil {
		return "", short(string(recorded)), short(string(replayed)), true
	}
	return walk("", x, y)
}

func walk(path string, x, y any) (string, string, string, bool) {
	switch xv := x.(type) {
	case map[string]any:
		yv, isMap := y.(map[string]any)
		if !isMap {
			return path, render(x), render(y), true
		}
		keys := make([]string, 0, len(xv)+len(yv))
		for k := range xv {
			keys = append(keys, k)
		}
		for k := range yv {
			if _, seen := xv[k]; !seen {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			xe, inX := xv[k]
			ye, inY := yv[k]
			p := join(path, k)
			switch {
			case !inX:
				return p, "(absent)", render(ye), true
			case !inY:
				return p, render(xe), "(absent)", true
			}
			if p, a, b, ok := walk(p, xe, ye); ok {
				return p, a, b, true
			}
		}
		return "", "", "", false
	case []any:
		yv, isList := y.([]any)
		if !isList {
			return path, render(x), render(y), true
		}
		for i := range min(len(xv), len(yv)) {
			if p, a, b, ok := walk(path+"["+strconv.Itoa(i)+"]", xv[i], yv[i]); ok {
				return p, a, b, true
			}
		}
		if len(xv) != len(yv) {
			return path, fmt.Sprintf("%d items", len(xv)), fmt.Sprintf("%d items", len(yv)), true
		}
		return "", "", "", false
	}
	if render(x) != render(y) {
		return path, render(x), render(y), true
	}
	return "", "", "", false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func render(v any) string {
	if v == nil {
		return "null"
	}
	if s, ok := v.(string); ok {
		return short(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return short(fmt.Sprint(v))
	}
	return short(string(b))
}

func short(s string) string {
	if len(s) > maxValue {
		return s[:maxValue] + "…"
	}
	return s
}

// firstLineDiff names the first line where two texts differ.
func firstLineDiff(recorded, replayed string) (line int, a, b string) {
	x, y := splitLines(recorded), splitLines(replayed)
	for i := range max(len(x), len(y)) {
		var xa, yb string
		if i < len(x) {
			xa = x[i]
		}
		if i < len(y) {
			yb = y[i]
		}
		if xa != yb || i >= len(x) || i >= len(y) {
			return i + 1, short(xa), short(yb)
		}
	}
	return 0, "", ""
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := bytes.IndexByte([]byte(s), '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
	return out
}
