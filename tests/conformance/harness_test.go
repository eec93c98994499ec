// Package conformance checks the context plane against CFS 0.1's
// conformance requirements (MUST-001 … MUST-007, SHOULD-001), one test per
// requirement, black-box: every check goes through the running API
// (app.StartAPI, the server `cfa serve` runs, on the real Temporal dev
// server and Postgres) with the generated Connect client. Postgres is read
// directly only to set up what the protocols do not write (CFS policies
// and views, a second plane to sync into) and to show what the database
// refuses.
package conformance_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/api"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
	"github.com/contextualflux/cfa/internal/cfs/cfspb/cfspbconnect"
	"github.com/contextualflux/cfa/internal/identity"
	"github.com/contextualflux/cfa/internal/translog"
	"github.com/contextualflux/cfa/tests/testenv"
)

// plane is one running API over one context plane.
type plane struct {
	url      string
	db       *dbtest.Database
	store    *db.Store
	verifier note.Verifier
	tokens   map[string]string
}

func (p *plane) client(t *testing.T, who string) cfspbconnect.ContextFabricServiceClient {
	t.Helper()
	tok, ok := p.tokens[who]
	require.True(t, ok, "no token for %s", who)
	return cfspbconnect.NewContextFabricServiceClient(http.DefaultClient, p.url, connect.WithInterceptors(api.Bearer(tok)))
}

// startPlane serves the API on a new database, with tokens for a reader
// (dashboard), two approvers who also submit (ana, maria, both declared
// approvers of the shipped bundle), an auditor (auditor) and a signing key.
func startPlane(t *testing.T) *plane {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := testenv.StartDevServer(ctx, t)
	d := dbtest.New(t, "conformance")
	store := db.New(d.Worker)

	signerKey, verifierKey, err := translog.GenerateKey(rand.Reader, "conformance")
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "checkpoint.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(signerKey), 0o600))
	verifier, err := note.NewVerifier(verifierKey)
	require.NoError(t, err)

	cfg := app.FromEnv()
	cfg.TemporalAddress, cfg.Namespace = srv.FrontendHostPort(), "default"
	cfg.DatabaseURL, cfg.SandboxDatabaseURL = d.WorkerURL, d.SandboxURL
	cfg.CatalogDir, cfg.PolicyDir = "", ""
	cfg.JWTIssuer = ""
	cfg.CheckpointKeyFile = keyFile
	api, err := app.StartAPI(context.Background(), cfg, "127.0.0.1:0", zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = api.Shutdown(sctx)
	})

	p := &plane{url: "http://" + api.Addr, db: d, store: store, verifier: verifier, tokens: map[string]string{}}
	for _, tk := range []db.NewToken{
		{Name: "dashboard", PrincipalID: "dashboard", PrincipalType: audit.PrincipalService, Roles: []identity.Role{identity.RoleReader}},
		{Name: "ana", PrincipalID: "ana", PrincipalType: audit.PrincipalHuman, Roles: []identity.Role{identity.RoleSubmitter, identity.RoleApprover}},
		{Name: "maria", PrincipalID: "maria", PrincipalType: audit.PrincipalHuman, Roles: []identity.Role{identity.RoleSubmitter, identity.RoleApprover}},
		{Name: "auditor", PrincipalID: "auditor", PrincipalType: audit.PrincipalHuman, Roles: []identity.Role{identity.RoleAuditor}},
	} {
		tk.CreatedBy = "conformance"
		tok, _, err := store.CreateToken(ctx, tk)
		require.NoError(t, err)
		p.tokens[tk.Name] = tok
	}
	return p
}

// write runs the whole write protocol: ana proposes, maria approves, ana
// applies. It returns the apply response.
func (p *plane) write(t *testing.T, intent string, muts ...*cfspb.Mutation) *cfspb.ApplyResponse {
	t.Helper()
	ctx := context.Background()
	prop, err := p.client(t, "ana").Propose(ctx, connect.NewRequest(&cfspb.ProposeRequest{Mutations: muts, Intent: intent}))
	require.NoError(t, err)
	rev, err := p.client(t, "maria").Review(ctx, connect.NewRequest(&cfspb.ReviewRequest{ProposalId: prop.Msg.GetProposalId(), Verdict: cfspb.Verdict_VERDICT_APPROVE}))
	require.NoError(t, err)
	app, err := p.client(t, "ana").Apply(ctx, connect.NewRequest(&cfspb.ApplyRequest{ProposalId: prop.Msg.GetProposalId(),
		Approver: "maria", ApprovalRef: rev.Msg.GetReceipt().GetReceiptId()}))
	require.NoError(t, err)
	require.True(t, app.Msg.GetSuccess())
	return app.Msg
}

func putRecord(id string, labels []string, props map[string]any) *cfspb.Mutation {
	st, err := structpb.NewStruct(props)
	if err != nil {
		panic(err)
	}
	return &cfspb.Mutation{Change: &cfspb.Mutation_PutRecord{PutRecord: &cfspb.Record{RecordId: id, TenantId: "conformance", Labels: labels, Props: st.GetFields()}}}
}

func putLink(id, typ, source, target string, from, to *timestamppb.Timestamp) *cfspb.Mutation {
	return &cfspb.Mutation{Change: &cfspb.Mutation_PutLink{PutLink: &cfspb.Link{LinkId: id, Type: typ, Source: source, Target: target,
		Valid: &cfspb.Interval{From: from, To: to}}}}
}

func byID(q string) *cfspb.Query {
	return &cfspb.Query{Language: "cel", Expression: `record.record_id == "` + q + `"`}
}
