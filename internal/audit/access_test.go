package audit_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/audit"
)

// TestAccessReceiptIsACompleteTrail: a trail that begins with
// ACCESS_RECORDED is complete_per_intent with it, for Verifier,
// CompletePerIntent and an export verified offline; an intent's trail is
// not ended by one (docs/adr/0146).
func TestAccessReceiptIsACompleteTrail(t *testing.T) {
	t.Parallel()
	access := event("cfa-access-1", 1, audit.EventAccessRecorded, "ok")
	access.Action = audit.ActionRead
	cases := []struct {
		name       string
		events     []audit.Event
		incomplete []string
	}{
		{"an access trail alone", []audit.Event{access}, nil},
		{"between two intents", append(append(intentEvents("intent-a"), access), intentEvents("intent-b")...), nil},
		{"inside an intent that never ends", []audit.Event{
			event("intent-c", 1, audit.EventIntentReceived, "received"),
			event("intent-c", 2, audit.EventAccessRecorded, "ok"),
		}, []string{"intent-c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := sealAll(t, tc.events)
			require.NoError(t, audit.Verify(rs))
			var ids []string
			var inc *audit.IncompleteError
			if err := audit.CompletePerIntent(rs); errors.As(err, &inc) {
				for _, in := range inc.Intents {
					ids = append(ids, in.IntentID)
				}
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.incomplete, ids)

			v := audit.NewVerifier()
			var export bytes.Buffer
			require.NoError(t, audit.WriteJSONL(&export, rs))
			_, err := audit.VerifyJSONL(&export, v)
			require.NoError(t, err)
			require.NoError(t, v.Finish())
			if tc.incomplete == nil {
				require.NoError(t, v.CompletePerIntent())
			} else {
				require.ErrorAs(t, v.CompletePerIntent(), &inc)
			}
		})
	}
}
