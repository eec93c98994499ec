package replay

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/revalidation"
)

func TestFirstDiffNamesTheFirstFieldInKeyOrder(t *testing.T) {
	tests := []struct {
		name               string
		recorded, replayed string
		path, a, b         string
		differs            bool
	}{
		{name: "equal", recorded: `{"a":1,"b":[1,2]}`, replayed: `{"b":[1,2],"a":1}`},
		{name: "a nested value", recorded: `{"a":{"x":"1","y":"2"}}`, replayed: `{"a":{"x":"1","y":"3"}}`, path: "a.y", a: "2", b: "3", differs: true},
		{name: "keys in sorted order", recorded: `{"z":1,"b":1}`, replayed: `{"z":2,"b":2}`, path: "b", a: "1", b: "2", differs: true},
		{name: "an absent key", recorded: `{"a":1}`, replayed: `{"a":1,"c":[1]}`, path: "c", a: "(absent)", b: "[1]", differs: true},
		{name: "an array item", recorded: `{"l":[1,2,3]}`, replayed: `{"l":[1,5,3]}`, path: "l[1]", a: "2", b: "5", differs: true},
		{name: "an array length", recorded: `{"l":[1]}`, replayed: `{"l":[1,2]}`, path: "l", a: "1 items", b: "2 items", differs: true},
		{name: "numbers as written", recorded: `{"n":1}`, replayed: `{"n":1.0}`, path: "n", a: "1", b: "1.0", differs: true},
		{name: "null and absent", recorded: `{"n":null}`, replayed: `{}`, path: "n", a: "null", b: "(absent)", differs: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, a, b, differs := firstDiff([]byte(tc.recorded), []byte(tc.replayed))
			require.Equal(t, tc.differs, differs)
			require.Equal(t, tc.path, path)
			require.Equal(t, tc.a, a)
			require.Equal(t, tc.b, b)
		})
	}
}

func TestFirstLineDiff(t *testing.T) {
	line, a, b := firstLineDiff("x\ny\nz\n", "x\nY\nz\n")
	require.Equal(t, 2, line)
	require.Equal(t, "y", a)
	require.Equal(t, "Y", b)
	line, a, b = firstLineDiff("x\n", "x\ny\n")
	require.Equal(t, 2, line)
	require.Equal(t, "", a)
	require.Equal(t, "y", b)
}

func receipt(t *testing.T, seq int64, eventType string, details any) audit.Receipt {
	t.Helper()
	b, err := json.Marshal(details)
	require.NoError(t, err)
	return audit.Receipt{Timestamp: time.Date(2026, 1, 3, 12, 0, 0, 0, time.UTC), Context: map[string]string{
		audit.CtxEventType: eventType, audit.CtxSeq: strconv.FormatInt(seq, 10), audit.CtxDetails: string(b), audit.CtxStage: "intent_received",
	}}
}

func TestNeedsNamesEveryConsultedAndRevalidatedVersionOnce(t *testing.T) {
	trail := []audit.Receipt{
		receipt(t, 1, audit.EventIntentReceived, events.IntentReceived{}),
		receipt(t, 2, audit.EventEnvironmentConsulted, events.EnvironmentConsulted{
			Environment: registry.EnvironmentState{VersionID: "r1"}, PolicyBundleVersion: "b1", CatalogSnapshotVersion: "c1"}),
		receipt(t, 3, audit.EventRevalidation, events.Revalidation{Result: revalidation.Result{Outcome: revalidation.Replan, Mismatches: []revalidation.Mismatch{
			{Field: revalidation.FieldRegistryVersionID, Signed: "r1", Current: "r2"},
			{Field: revalidation.FieldPolicyBundleVersion, Signed: "b1", Current: "b2"},
		}}}),
		receipt(t, 4, audit.EventRevalidation, events.Revalidation{Result: revalidation.Result{Outcome: revalidation.Replan, Mismatches: []revalidation.Mismatch{
			{Field: revalidation.FieldRegistryVersionID, Signed: "r2", Current: "r1"},
		}}}),
	}
	v, err := Needs(trail)
	require.NoError(t, err)
	require.Equal(t, Versions{Snapshots: []string{"r1", "r2"}, Bundles: []string{"b1", "b2"}, Catalogs: []string{"c1"}}, v)
}

func TestReplayRefusesWhatItCannotReplay(t *testing.T) {
	tests := []struct {
		name   string
		rec    Record
		reason string
	}{
		{name: "a version never recorded", rec: Record{IntentID: "i", Missing: []string{"policy bundle b1 is not recorded"}}, reason: "policy bundle b1 is not recorded"},
		{name: "no trail", rec: Record{IntentID: "i"}, reason: "not an intent's trail"},
		{name: "a composite", rec: Record{IntentID: "c", Trail: []audit.Receipt{receipt(t, 1, audit.EventIntentReceived, map[string]any{"intent_graph": map[string]any{}})}},
			reason: "composite intent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Replay(t.Context(), tc.rec)
			require.NoError(t, err)
			require.False(t, res.Identical)
			require.Contains(t, res.Refused, tc.reason)
			v := VerdictOf(res)
			require.False(t, v.Reproducible)
			require.Contains(t, v.Reason, "not replayable")
		})
	}
}

func TestCompareUnits(t *testing.T) {
	in := func(rows int64, sha string) []InputFingerprint {
		return []InputFingerprint{{Dataset: "nfe", Partition: "2026-01-01", Fingerprint: Fingerprint{Rows: rows, SHA256: sha}}}
	}
	out := Fingerprint{Rows: 10, SHA256: "aa"}
	recorded := []UnitFingerprint{{Key: "2026-01-01", Attempt: 1, Output: out, Inputs: in(5, "s1")}}
	tests := []struct {
		name      string
		recorded  []UnitFingerprint
		reruns    []Rerun
		outcome   string
		identical bool
		refused   string
		differs   bool
	}{
		{name: "identical", recorded: recorded, reruns: []Rerun{{Key: "2026-01-01", Output: out, Inputs: in(5, "s1")}}, outcome: UnitIdentical, identical: true},
		{name: "different output", recorded: recorded, reruns: []Rerun{{Key: "2026-01-01", Output: Fingerprint{Rows: 10, SHA256: "bb"}, Inputs: in(5, "s1")}},
			outcome: UnitDifferent, differs: true},
		{name: "a source changed", recorded: recorded, reruns: []Rerun{{Key: "2026-01-01", Output: Fingerprint{Rows: 9, SHA256: "bb"}, Inputs: in(4, "s2")}},
			outcome: UnitSourceChanged, refused: "1 of 1 units"},
		{name: "nothing recorded", refused: "no unit fingerprint is recorded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex := CompareUnits(tc.recorded, tc.reruns)
			require.Equal(t, tc.identical, ex.Identical)
			require.Equal(t, tc.differs, ex.FirstDifference != nil)
			if tc.refused != "" {
				require.Contains(t, ex.Refused, tc.refused)
			} else {
				require.Empty(t, ex.Refused)
			}
			if tc.outcome != "" {
				require.Len(t, ex.Units, 1)
				require.Equal(t, tc.outcome, ex.Units[0].Outcome)
			}
			if tc.outcome == UnitSourceChanged {
				require.Contains(t, ex.Units[0].Reason, "source nfe partition 2026-01-01 changed since the execution: recorded 5 rows, sha256 s1, now 4 rows, sha256 s2")
				require.Nil(t, ex.Units[0].Replayed, "a unit whose source changed is not compared")
			}
		})
	}
}
