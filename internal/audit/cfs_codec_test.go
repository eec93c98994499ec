package audit

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// The hand-written encoder (the hot path) and the CFS strict canonical
// codec (docs/adr/0144) give the same bytes for every receipt, and the
// codec's strict decoder accepts them: audit chains stored before the codec
// keep verifying.
func TestAppendReceiptMatchesTheStrictCodec(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(16, 1))
	pick := func(ss ...string) string { return ss[r.IntN(len(ss))] }
	types := []PrincipalType{PrincipalHuman, PrincipalAgent, PrincipalService, PrincipalSystem}
	actions := []Action{ActionRead, ActionWrite, ActionInvoke, ActionApprove, ActionSync}
	for i := range 3000 {
		rec := Receipt{
			ReceiptID: pick("", "intent-a/1", "intenção/"+fmt.Sprint(i)),
			Actor:     Principal{ID: pick("", "cfa-worker", "josé"), Type: types[r.IntN(4)], AuthContext: pick("", "mtls", "oidc ✓")},
			Action:    actions[r.IntN(5)],
			Timestamp: time.Unix(r.Int64N(253402300799+62135596800)-62135596800, r.Int64N(1e9)).UTC(),
			PrevHash:  []byte(pick("", strings.Repeat("\x00", 32), strings.Repeat("\xab", 32))),
		}
		for range r.IntN(4) {
			rec.Targets = append(rec.Targets, pick("", "t", "日本語", strings.Repeat("x", 200)))
		}
		if r.IntN(4) > 0 {
			rec.Context = map[string]string{}
			for range r.IntN(20) {
				rec.Context[pick("", "a", "Z", "é", "e\u0301", "position", "seq", fmt.Sprint(r.IntN(100)))] = pick("", "1", strings.Repeat("v", r.IntN(300)))
			}
		}
		enc, err := appendReceipt(nil, &rec)
		require.NoError(t, err)
		p := ToProto(rec)
		p.Integrity = nil
		want, err := cfs.Canonical(p)
		require.NoError(t, err)
		require.Equal(t, want, enc, "receipt %d", i)
		var back cfspb.Receipt
		require.NoError(t, cfs.DecodeCanonical(enc, &back), "receipt %d", i)
	}
}
