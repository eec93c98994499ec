package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// canonicalDetailsSlow is CanonicalDetails without the fast path.
func canonicalDetailsSlow(details []byte) (string, error) {
	if len(bytes.TrimSpace(details)) == 0 {
		return "{}", nil
	}
	dec := json.NewDecoder(bytes.NewReader(details))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	if dec.More() {
		return "", errTrailing
	}
	if _, ok := v.(map[string]any); !ok {
		return "", errNotObject
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

var (
	errTrailing  = errorString("trailing")
	errNotObject = errorString("not an object")
)

type errorString string

func (e errorString) Error() string { return string(e) }

var canonCases = []string{
	`{}`, ` { } `, `{"a":1}`, `{"b":1,"a":2}`, `{"a":{"d":[1,{"z":0,"y":-0.5e+10}],"c":null},"B":true,"_":false}`,
	`{"html":"<a href=\"x\">&amp;</a>"}`, `{"esc":"\u003c\u003e\u0026"}`, `{"ctl":"\n\t\r\b\f\u0001\u001f"}`,
	`{"sl":"\/\\"}`, `{"uni":"é日本😀","pair":"\ud83d\ude00","sep":"\u2028 \u2029","raw":"` + "\u2028" + `"}`,
	`{"lone":"\ud800"}`, `{"bad":"\xff"}`, `{"k\u00e9y":1,"kéy":2}`, `{"dup":1,"dup":2}`, `{"a":1}{"b":2}`, `{"a":1} }`,
	`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":.5}`, `{"a":tru}`, `{"a":truex}`, `[1]`, `"s"`, `{"a":1,}`,
	`{"a" 1}`, `{"a":[1,]}`, `{"a":[1 2]}`, "{\"a\":\"\x01\"}", `{"\u0000":"\u0000"}`, `{"e":"\uD834\uDD1E"}`,
	`{"n":123456789012345678901234567890,"f":1.5E-300,"z":-0}`, "\n{\"a\" :\t[ 1 , 2 ]\r}\n",
	`{"big":"` + strings.Repeat("x", 5000) + `"}`, strings.Repeat(`{"a":`, 300) + `1` + strings.Repeat(`}`, 300),
	`{"zz":1,"z":2,"":3,"é":4,"e":5,"E":6}`, "\u00a0{}", `{"a":"\q"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`,
}

func TestCanonicalDetailsFastPathMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, in := range canonCases {
		checkCanonical(t, []byte(in))
	}
}

func checkCanonical(t *testing.T, in []byte) {
	t.Helper()
	want, wantErr := canonicalDetailsSlow(in)
	got, err := CanonicalDetails(in)
	if wantErr != nil {
		require.Error(t, err, "input %q", in)
		return
	}
	require.NoError(t, err, "input %q", in)
	require.Equal(t, want, got, "input %q", in)
	if fast, ok := canonicalObject(in); ok {
		require.Equal(t, want, fast, "input %q", in)
	}
}

func FuzzCanonicalDetails(f *testing.F) {
	for _, c := range canonCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkCanonical(t, in) })
}

// The fast path must take what the flow writes, or Seal is slow again.
func TestCanonicalDetailsFastPathTakesCommonDetails(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{}`, `{"b":1,"a":2}`, `{"html":"\u003cb\u003e \u0026","q":"say \"hi\"\n"}`, `{"uni":"é日本😀","pair":"\ud83d\ude00"}`,
		`{"a":{"d":[1,{"z":0,"y":-0.5e+10}],"c":null},"B":true}`, "\n{\"a\" :\t[ 1 , 2 ]\r}\n",
	} {
		_, ok := canonicalObject([]byte(in))
		require.True(t, ok, "input %q", in)
	}
}
