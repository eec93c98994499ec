package db_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
)

// TestRecordAccess: a read or write outside any intent is one
// ACCESS_RECORDED receipt in a trail of its own, with who, the action, the
// targets and the outcome; the chain verifies and every trail is complete
// (MUST-005, docs/adr/0146).
func TestRecordAccess(t *testing.T) {
	d := dbtest.New(t, "db_access")
	s := db.New(d.Worker)
	ctx := context.Background()
	ana := audit.Principal{ID: "ana", Type: audit.PrincipalHuman, AuthContext: "cli:os-user"}
	cases := []struct {
		name        string
		access      db.Access
		wantTargets []string
		wantErr     string
	}{
		{"a read", db.Access{Actor: ana, Action: audit.ActionRead, Targets: []string{"registry:version/v1"}, Via: "cli", Operation: "registry show", Outcome: db.AccessOK},
			[]string{"registry:version/v1"}, ""},
		{"a denied write", db.Access{Actor: ana, Action: audit.ActionWrite, Targets: []string{"dataset:nfe", "dataset:nfe"}, Via: "cli", Operation: "registry set", Outcome: db.AccessDenied, Code: "usage"},
			[]string{"dataset:nfe"}, ""},
		{"no target names the operation", db.Access{Actor: ana, Action: audit.ActionRead, Via: "api", Operation: "/cfa.v1.IntentService/GetCatalog", Outcome: db.AccessOK},
			[]string{"api:/cfa.v1.IntentService/GetCatalog"}, ""},
		{"a target is clipped", db.Access{Actor: ana, Action: audit.ActionRead, Targets: []string{"intent:\x00" + strings.Repeat("a", 1000)}, Via: "cli", Operation: "status", Outcome: db.AccessFailed, Code: "not_found"},
			[]string{"intent:" + strings.Repeat("a", 256-len("intent:")-len("…")) + "…"}, ""},
		{"nobody", db.Access{Action: audit.ActionRead, Via: "cli", Operation: "status", Outcome: db.AccessOK}, nil, "say who"},
		{"an unknown outcome", db.Access{Actor: ana, Action: audit.ActionRead, Via: "cli", Operation: "status", Outcome: "maybe"}, nil, `outcome "maybe"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.RecordAccess(ctx, tc.access)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(r.IntentID(), db.AccessPrefix), r.IntentID())
			require.Equal(t, r.IntentID()+"/1", r.ReceiptID)
			require.Equal(t, audit.EventAccessRecorded, r.EventType())
			require.Equal(t, tc.access.Actor, r.Actor)
			require.Equal(t, tc.access.Action, r.Action)
			require.Equal(t, tc.wantTargets, r.Targets)
			require.Equal(t, tc.access.Outcome, r.Context[audit.CtxOutcome])
			var det events.AccessRecorded
			require.NoError(t, json.Unmarshal([]byte(r.Context[audit.CtxDetails]), &det))
			require.Equal(t, events.AccessRecorded{Via: tc.access.Via, Operation: tc.access.Operation, Code: tc.access.Code}, det)
			stored, err := s.AuditByIntent(ctx, r.IntentID())
			require.NoError(t, err)
			require.Equal(t, []audit.Receipt{r}, stored, "read back, it hashes the same")
		})
	}

	// Concurrent reads share the group appender; every trail is complete.
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.RecordAccess(ctx, db.Access{Actor: ana, Action: audit.ActionRead, Targets: []string{"audit:chain"}, Via: "cli", Operation: "audit export", Outcome: db.AccessOK})
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	chain, err := s.WholeAuditChain(ctx)
	require.NoError(t, err)
	require.Len(t, chain, 24)
	require.NoError(t, audit.Verify(chain))
	require.NoError(t, audit.CompletePerIntent(chain))
}
