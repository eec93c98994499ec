package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// exportLines seals a varied chain and exports it with WriteJSONL.
func exportLines(t testing.TB) [][]byte {
	t.Helper()
	var events []Event
	for _, tc := range sealCases {
		e := baseEvent()
		tc.mutate(&e)
		events = append(events, e)
	}
	e := baseEvent()
	e.Details = json.RawMessage(`{"q":"say \"hi\"\\n","ctl":"\u0001\t","html":"<&>","sep":"\u2028","emoji":"😀"}`)
	e.Outcome, e.Actor.AuthContext = "tab\there \"quoted\" \\ back", "línea\nnueva"
	events = append(events, e)
	var rs []Receipt
	prev := GenesisPrevHash()
	for i, e := range events {
		e.IntentID, e.Seq = fmt.Sprintf("intent-%d", i), 1
		r, err := Seal(e, int64(i+1), prev)
		require.NoError(t, err)
		rs = append(rs, r)
		prev = r.Integrity
	}
	var buf bytes.Buffer
	require.NoError(t, WriteJSONL(&buf, rs))
	return bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
}

// sameDecoding holds the fast decoder to protojson on one line: when it
// takes the line, protojson must give the very same receipt.
func sameDecoding(t *testing.T, line []byte) (fast bool) {
	t.Helper()
	got, ok := decodeReceiptJSON(line)
	want, err := decodeProtoJSON(line)
	if !ok {
		return false
	}
	require.NoError(t, err, "the fast decoder took a line protojson refuses: %s", line)
	require.True(t, reflect.DeepEqual(want, got), "line %s\nprotojson %#v\nfast      %#v", line, want, got)
	require.True(t, want.Timestamp == got.Timestamp, "same time.Time representation")
	return true
}

func TestFastDecoderTakesWhatWriteJSONLWrites(t *testing.T) {
	t.Parallel()
	for _, line := range exportLines(t) {
		require.True(t, sameDecoding(t, line), "the fast decoder declined %s", line)
	}
}

func TestFastDecoderDeclinesWhatItCannotMatch(t *testing.T) {
	t.Parallel()
	line := string(exportLines(t)[0])
	cases := map[string]string{
		"camelCase name":      strings.Replace(line, `"receipt_id"`, `"receiptId"`, 1),
		"unknown field":       strings.Replace(line, `{"receipt_id"`, `{"x":1,"receipt_id"`, 1),
		"duplicate field":     strings.Replace(line, `{"receipt_id":"intent-0/1",`, `{"receipt_id":"a","receipt_id":"intent-0/1",`, 1),
		"escaped key":         strings.Replace(line, `"receipt_id"`, `"receipt\u005fid"`, 1),
		"enum number":         strings.Replace(line, `"action":"INVOKE"`, `"action":2`, 1),
		"null":                strings.Replace(line, `"auth_context":""`, `"auth_context":null`, 1),
		"offset timestamp":    strings.Replace(line, `"2026-03-01T09:00:00Z"`, `"2026-03-01T10:00:00+01:00"`, 1),
		"forever":             strings.Replace(line, `"2026-03-01T09:00:00Z"`, `"9999-12-31T23:59:59.999999999Z"`, 1),
		"url base64":          strings.Replace(line, `"prev_hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="`, `"prev_hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"`, 1),
		"lone surrogate":      strings.Replace(line, `"outcome":"received"`, `"outcome":"\ud800"`, 1),
		"duplicate map key":   strings.Replace(line, `"outcome":"received"`, `"outcome":"received","outcome":"x"`, 1),
		"empty targets":       strings.Replace(line, `"targets":["intent-a"]`, `"targets":[]`, 1),
		"no position":         strings.Replace(line, `"position":"1"`, `"pos":"1"`, 1),
		"trailing data":       line + ` {}`,
		"unspecified type":    strings.Replace(line, `"type":"SERVICE"`, `"type":"PRINCIPAL_TYPE_UNSPECIFIED"`, 1),
		"invalid UTF-8":       strings.Replace(line, `"outcome":"received"`, "\"outcome\":\"\xff\"", 1),
		"raw control byte":    strings.Replace(line, `"outcome":"received"`, "\"outcome\":\"a\x01\"", 1),
		"truncated":           line[:len(line)/2],
		"missing actor field": strings.Replace(line, `,"auth_context":""`, ``, 1),
	}
	for name, in := range cases {
		require.NotEqual(t, line, in, name)
		require.False(t, sameDecoding(t, []byte(in)), "%s: the fast decoder must hand the line to protojson", name)
	}
	spaced := strings.NewReplacer(`":`, `" : `, `,"`, ` , "`).Replace(line)
	require.True(t, sameDecoding(t, []byte(" "+spaced+"\t")), "other spacing is fine")
	reordered := strings.Replace(line, `{"receipt_id":"intent-0/1",`, `{`, 1)
	reordered = strings.TrimSuffix(reordered, "}") + `,"receipt_id":"intent-0/1"}`
	require.True(t, sameDecoding(t, []byte(reordered)), "field order does not matter")
	fraction := strings.Replace(line, `"2026-03-01T09:00:00Z"`, `"2026-03-01T09:00:00.5Z"`, 1)
	require.True(t, sameDecoding(t, []byte(fraction)), "any number of fraction digits up to 9")
}

func FuzzFastDecoder(f *testing.F) {
	for _, line := range exportLines(f) {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line []byte) { sameDecoding(t, line) })
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2026-03-01T09:00:00Z", "2024-02-29T23:59:59.123456789Z", "0001-01-01T00:00:00Z",
		"2023-02-29T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2026-03-01T09:00:00.1234567890Z", "2026-03-01t09:00:00z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTimestamp([]byte(s))
		if !ok {
			return
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err, "%q", s)
		require.Equal(t, time.Unix(want.Unix(), int64(want.Nanosecond())).UTC(), got, "%q", s)
	})
}

func TestScanJSONLStreams(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 3))
	chain := randomChain(t, rng, 50, 1)
	// A receipt with details longer than the reader's buffer.
	e := baseEvent()
	e.IntentID = "long"
	e.Targets = []string{"long"}
	e.Details = json.RawMessage(`{"big":"` + strings.Repeat("x", 3*jsonlBuffer) + `"}`)
	long, err := Seal(e, 51, chain[49].Integrity)
	require.NoError(t, err)
	chain = append(chain, long)
	var buf bytes.Buffer
	require.NoError(t, WriteJSONL(&buf, chain))
	text := strings.Replace(buf.String(), "\n", "\n\n  \n", 3) // blank lines are skipped
	var got []Receipt
	require.NoError(t, ScanJSONL(strings.NewReader(text), func(r Receipt) error {
		got = append(got, r)
		return nil
	}))
	require.Equal(t, chain, got)
	require.NoError(t, Verify(got))

	stop := errors.New("stop")
	n := 0
	err = ScanJSONL(strings.NewReader(text), func(Receipt) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	require.Same(t, stop, err, "fn's error is returned as is")

	lines := strings.Split(buf.String(), "\n")
	lines[20] = lines[20][:40]
	err = ScanJSONL(strings.NewReader(strings.Join(lines, "\n")), func(Receipt) error { return nil })
	require.ErrorContains(t, err, "line 21")
	require.ErrorContains(t, err, "fix the line or re-export")
}

func checkUnmarshalContext(t *testing.T, in []byte) {
	t.Helper()
	var want map[string]string
	wantErr := json.Unmarshal(in, &want)
	got, err := UnmarshalContext(in)
	if wantErr != nil {
		require.Error(t, err, "input %q", in)
		return
	}
	require.NoError(t, err, "input %q", in)
	require.True(t, reflect.DeepEqual(want, got), "input %q: want %#v, got %#v", in, want, got)
}

var contextCases = []string{
	`{"seq": "1", "stage": "policy_engine", "details": "{\"a\":\"<x>\",\"b\":[1,2]}", "position": "12"}`,
	`{}`, `null`, `{"a":"1","a":"2"}`, `{"k":"\ud800"}`, "{\"k\":\"\xff\"}", `{"k":1}`, `{"k":"v"} x`, `[]`,
	`{"é":"日本","tab":"\t\n\u0001","pair":"\ud83d\ude00"}`, ` {"k" : "v" } `, `{"k":"v",}`, `{"k":null}`,
}

func TestUnmarshalContextIsJSONUnmarshal(t *testing.T) {
	t.Parallel()
	for _, in := range contextCases {
		checkUnmarshalContext(t, []byte(in))
	}
}

func FuzzUnmarshalContext(f *testing.F) {
	for _, in := range contextCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkUnmarshalContext(t, in) })
}
