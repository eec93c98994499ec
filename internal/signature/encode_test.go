package signature

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// referenceEncode is the encoding of docs/adr/0003 spelled with
// encoding/json: Canonical(), no HTML escaping, no trailing newline.
func referenceEncode(t *testing.T, s Signature) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(s.Canonical()))
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendCanonicalMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 7))
	words := []string{"", "nfe", "clientes", "silver", "a", "b", "b", "<&>", `quo"te`, `back\slash`, "tab\there", "nl\n", "\x00\x1f\x7f",
		"eletrônicas", "\u2028\u2029", "\xff\xfe", "é", OpJoin, OpIngest, OpPublish, OpAggregate, "unknown_op", "zz"}
	word := func() string { return words[r.IntN(len(words))] }
	set := func() []string {
		switch r.IntN(4) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		out := make([]string, r.IntN(5)+1)
		for i := range out {
			out[i] = word()
		}
		return out
	}
	num := func() int64 {
		return []int64{0, 1, -1, 4 << 40, 500 << 20, -9223372036854775808}[r.IntN(6)]
	}
	check := func(s Signature) {
		want := referenceEncode(t, s)
		got, err := s.Encode()
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
		require.Equal(t, string(want), string(appendCanonical(nil, s.Canonical())), "canonical input")
	}
	check(Signature{})
	check(parse(t))
	for range 5000 {
		s := Signature{
			Domain: word(), Intent: word(), SourceType: word(), TargetLayer: word(),
			Operations: set(), DeclaredImports: set(), DeclaredPatterns: set(),
			Replan: int(num()),
			Constraints: Constraints{
				NoPIIRaw: r.IntN(2) == 0, EnforceTypes: r.IntN(2) == 0, MergeKeyRequired: r.IntN(2) == 0,
				PartitionBy: set(), MergeKey: word(), Anonymize: set(), PublishBlocked: set(),
			},
			ExecutionContext: ExecutionContext{PolicyBundleVersion: word(), CatalogSnapshotVersion: word(), RegistryVersionID: word()},
		}
		if r.IntN(2) == 0 {
			s.Constraints.TemporalFilter = &TemporalFilter{Column: word(), From: word(), To: word(), LastDays: int(num())}
		}
		switch r.IntN(4) {
		case 0:
			s.Selection = &Selection{}
		case 1:
			sel := &Selection{Columns: set(), GroupBy: set()}
			for range r.IntN(3) {
				sel.Measures = append(sel.Measures, Measure{Function: word(), Column: word()})
			}
			for range r.IntN(3) {
				sel.Filters = append(sel.Filters, RowFilter{Column: word(), Operator: word(), Value: word()})
			}
			s.Selection = sel
		}
		s.ExecutionMode = []string{"", ModeBatch, ModeMicroBatch}[r.IntN(3)]
		s.TimeWindow = word()
		s.CrossDatasetAtomic = r.IntN(2) == 0
		switch r.IntN(3) {
		case 0:
			s.Datasets = nil
		case 1:
			s.Datasets = []Dataset{}
		default:
			for range r.IntN(4) + 1 {
				s.Datasets = append(s.Datasets, Dataset{
					Name: word(), Role: []string{RoleSource, RoleTarget, ""}[r.IntN(3)], Layer: word(), Size: word(),
					SizeBytes: num(), Classification: word(), SourceType: word(), PII: set(),
					PartitionKey: word(), MergeKey: word(),
				})
			}
		}
		check(s)
	}
}

func BenchmarkHash(b *testing.B) {
	var s Signature
	if err := json.Unmarshal([]byte(`{"domain":"fiscal","intent":"reconcile","operations":["join"],"datasets":[{"name":"nfe","role":"source","size":"4TB","pii":["email","cpf"]},{"name":"clientes","role":"source"}]}`), &s); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Hash(); err != nil {
			b.Fatal(err)
		}
	}
}
