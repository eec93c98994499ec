package db_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/cfs/access"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
	"github.com/contextualflux/cfa/internal/registry"
)

var (
	govAna   = audit.Principal{ID: "ana", Type: audit.PrincipalHuman, AuthContext: "test"}
	govMaria = audit.Principal{ID: "maria", Type: audit.PrincipalHuman, AuthContext: "test"}
	govBob   = audit.Principal{ID: "bob", Type: audit.PrincipalHuman, AuthContext: "test"}
	// govApprovers stands for the bundle's declared approvers.
	govApprovers = db.Reviewers{"maria", "joao"}
)

func govRecord(id, state string, labels ...string) *cfspb.Mutation {
	if len(labels) == 0 {
		labels = []string{"doc"}
	}
	return &cfspb.Mutation{Change: &cfspb.Mutation_PutRecord{PutRecord: &cfspb.Record{
		RecordId: id, Labels: labels, Props: map[string]*structpb.Value{"state": structpb.NewStringValue(state), "owner": structpb.NewStringValue("ana")},
	}}}
}

func propose(t *testing.T, s *db.Store, by audit.Principal, muts ...*cfspb.Mutation) *cfspb.ProposeResponse {
	t.Helper()
	resp, rec, err := s.Propose(context.Background(), &cfspb.ProposeRequest{Mutations: muts, Intent: "test: correct the registry"}, by)
	require.NoError(t, err)
	require.Equal(t, audit.ActionWrite, rec.Action)
	return resp
}

func approve(t *testing.T, s *db.Store, id string, by audit.Principal) *cfspb.Receipt {
	t.Helper()
	r, err := s.Review(context.Background(), &cfspb.ReviewRequest{ProposalId: id, Verdict: cfspb.Verdict_VERDICT_APPROVE}, by, govApprovers)
	require.NoError(t, err)
	require.Equal(t, cfspb.Action_APPROVE, r.GetReceipt().GetAction())
	return r.GetReceipt()
}

// TestCFSProposeReviewApply: the write protocol's acceptance rules: the
// diff and affected records at propose time, self-approval and an
// undeclared reviewer refused (and audited), apply refused without an
// approval or with another receipt, then applied once: a second apply
// returns the same commit and receipts and writes nothing.
func TestCFSProposeReviewApply(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t, "db")
	s := db.New(d.Pool)
	ctx := context.Background()

	p := propose(t, s, govAna, govRecord("doc:gov-a", "committed"))
	require.Equal(t, []string{"doc:gov-a"}, p.GetAffected())
	require.Len(t, p.GetDiff().GetChanges(), 1)
	require.Equal(t, "create", p.GetDiff().GetChanges()[0].GetOp())
	_, err := s.GetRecordAsOf(ctx, "doc:gov-a", time.Time{}, time.Time{})
	require.ErrorIs(t, err, db.ErrPlaneNotFound, "a proposal writes nothing to the plane")

	_, err = s.Apply(ctx, &cfspb.ApplyRequest{ProposalId: p.GetProposalId(), Approver: "maria", ApprovalRef: "x"}, govMaria)
	require.ErrorIs(t, err, db.ErrNotApproved, "refused without an approval")

	_, err = s.Review(ctx, &cfspb.ReviewRequest{ProposalId: p.GetProposalId(), Verdict: cfspb.Verdict_VERDICT_APPROVE}, govAna, db.Reviewers{"ana", "maria"})
	require.ErrorIs(t, err, db.ErrSelfApproval, "a proposer may not approve their own proposal, even when declared")
	_, err = s.Review(ctx, &cfspb.ReviewRequest{ProposalId: p.GetProposalId(), Verdict: cfspb.Verdict_VERDICT_APPROVE}, govBob, govApprovers)
	require.ErrorIs(t, err, db.ErrNotApprover)

	approval := approve(t, s, p.GetProposalId(), govMaria)
	again := approve(t, s, p.GetProposalId(), govMaria)
	require.Equal(t, approval.GetReceiptId(), again.GetReceiptId(), "the same review again returns its receipt")
	_, err = s.Review(ctx, &cfspb.ReviewRequest{ProposalId: p.GetProposalId(), Verdict: cfspb.Verdict_VERDICT_REJECT}, govMaria, govApprovers)
	require.ErrorIs(t, err, db.ErrProposalClosed)

	_, err = s.Apply(ctx, &cfspb.ApplyRequest{ProposalId: p.GetProposalId(), Approver: "maria", ApprovalRef: p.GetProposalId()}, govMaria)
	require.ErrorIs(t, err, db.ErrApprovalMismatch, "approval_ref must be the APPROVE receipt")
	_, err = s.Apply(ctx, &cfspb.ApplyRequest{ProposalId: p.GetProposalId(), Approver: "joao", ApprovalRef: approval.GetReceiptId()}, govMaria)
	require.ErrorIs(t, err, db.ErrApprovalMismatch, "approver must be the receipt's actor")

	req := &cfspb.ApplyRequest{ProposalId: p.GetProposalId(), Approver: "maria", ApprovalRef: approval.GetReceiptId()}
	first, err := s.Apply(ctx, req, govMaria)
	require.NoError(t, err)
	require.True(t, first.GetSuccess())
	require.NotEmpty(t, first.GetCommitId())
	rec, err := s.GetRecordAsOf(ctx, "doc:gov-a", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Equal(t, "committed", rec.GetProps()["state"].GetStringValue())

	head, _, err := s.AuditHead(ctx)
	require.NoError(t, err)
	second, err := s.Apply(ctx, req, govMaria)
	require.NoError(t, err)
	require.Equal(t, first.GetCommitId(), second.GetCommitId())
	require.Len(t, second.GetReceipts(), 1)
	require.Equal(t, first.GetReceipts()[0].GetReceiptId(), second.GetReceipts()[0].GetReceiptId())
	require.Equal(t, first.GetReceipts()[0].GetIntegrity(), second.GetReceipts()[0].GetIntegrity())
	after, _, err := s.AuditHead(ctx)
	require.NoError(t, err)
	require.Equal(t, head, after, "an idempotent apply writes nothing")

	// Every step is a complete trail of its own, correlated by the proposal.
	trail, err := s.AuditByCorrelation(ctx, db.ProposalCorrelation(p.GetProposalId()), 100)
	require.NoError(t, err)
	require.NoError(t, audit.CompletePerIntent(trail))
	var types []string
	for _, r := range trail {
		if r.EventType() != audit.EventIntentReceived && r.EventType() != audit.EventIntentCompleted {
			types = append(types, r.EventType()+"/"+r.Context[audit.CtxOutcome])
		}
	}
	require.Equal(t, []string{"CFS_PROPOSED/proposed", "CFS_PROPOSAL_REVIEWED/refused", "CFS_PROPOSAL_REVIEWED/refused",
		"CFS_PROPOSAL_REVIEWED/approved", "CFS_PROPOSAL_APPLIED/applied"}, types)

	got, err := s.GetProposal(ctx, p.GetProposalId())
	require.NoError(t, err)
	require.Equal(t, db.ProposalApplied, got.Status)
	require.Equal(t, first.GetCommitId(), got.CommitID)
}

// TestCFSApplyRefusedWhenBaseChanged: a proposal made against one version
// of a record is refused at apply once another proposal changed it.
func TestCFSApplyRefusedWhenBaseChanged(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t, "db")
	s := db.New(d.Pool)
	ctx := context.Background()

	seed := propose(t, s, govAna, govRecord("doc:gov-b", "committed"))
	ok := approve(t, s, seed.GetProposalId(), govMaria)
	_, err := s.Apply(ctx, &cfspb.ApplyRequest{ProposalId: seed.GetProposalId(), Approver: "maria", ApprovalRef: ok.GetReceiptId()}, govMaria)
	require.NoError(t, err)

	stale := propose(t, s, govAna, govRecord("doc:gov-b", "stale"))
	require.NotEmpty(t, stale.GetDiff().GetChanges()[0].GetBeforeIntegrity())
	racing := propose(t, s, govBob, govRecord("doc:gov-b", "quarantined"))
	r := approve(t, s, racing.GetProposalId(), govMaria)
	_, err = s.Apply(ctx, &cfspb.ApplyRequest{ProposalId: racing.GetProposalId(), Approver: "maria", ApprovalRef: r.GetReceiptId()}, govMaria)
	require.NoError(t, err)

	r = approve(t, s, stale.GetProposalId(), govMaria)
	_, err = s.Apply(ctx, &cfspb.ApplyRequest{ProposalId: stale.GetProposalId(), Approver: "maria", ApprovalRef: r.GetReceiptId()}, govMaria)
	require.ErrorIs(t, err, db.ErrBaseChanged)
	require.ErrorContains(t, err, "propose again")
	rec, err := s.GetRecordAsOf(ctx, "doc:gov-b", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Equal(t, "quarantined", rec.GetProps()["state"].GetStringValue(), "the refused apply wrote nothing")
	got, err := s.GetProposal(ctx, stale.GetProposalId())
	require.NoError(t, err)
	require.Equal(t, db.ProposalApproved, got.Status)
}

func allowPolicy(id string, action string, principals []string, patterns []string, labels []string, effect cfspb.Effect, prio int32) *cfspb.Policy {
	p := &cfspb.Policy{PolicyId: id, Effect: effect, Priority: prio,
		Principal: &cfspb.PrincipalMatcher{Ids: principals},
		Resource:  &cfspb.ResourceMatcher{Patterns: patterns, Labels: labels}}
	if action != "" {
		p.Conditions = []*cfspb.Condition{{Attribute: access.AttrAction, Operator: access.OpEq, Operands: []*structpb.Value{structpb.NewStringValue(action)}}}
	}
	return p
}

// TestCFSReviewAllowedByPolicy: a CFS policy granting APPROVE on every
// affected record lets an undeclared reviewer approve; a policy with an
// unknown attribute is refused at put.
func TestCFSReviewAllowedByPolicy(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t, "db")
	s := db.New(d.Pool)
	ctx := context.Background()

	_, _, err := s.PutCFSPolicy(ctx, allowPolicy("bob-approves-datasets", "APPROVE", []string{"bob"}, []string{"doc:*"}, nil, cfspb.Effect_ALLOW, 1), false, govMaria)
	require.NoError(t, err)
	bad := allowPolicy("bad", "", []string{"*"}, []string{"*"}, nil, cfspb.Effect_ALLOW, 1)
	bad.Conditions = []*cfspb.Condition{{Attribute: "time.minute", Operator: "eq", Operands: []*structpb.Value{structpb.NewNumberValue(1)}}}
	_, _, err = s.PutCFSPolicy(ctx, bad, false, govMaria)
	require.ErrorIs(t, err, access.ErrInvalidPolicy)

	p := propose(t, s, govAna, govRecord("doc:gov-c", "committed"))
	approve(t, s, p.GetProposalId(), govBob)

	q := propose(t, s, govAna, govRecord("partition:gov-c/1", "committed"))
	_, err = s.Review(ctx, &cfspb.ReviewRequest{ProposalId: q.GetProposalId(), Verdict: cfspb.Verdict_VERDICT_APPROVE}, govBob, govApprovers)
	require.ErrorIs(t, err, db.ErrNotApprover, "the policy grants datasets only")
	_, err = s.Review(ctx, &cfspb.ReviewRequest{ProposalId: q.GetProposalId(), Verdict: cfspb.Verdict_VERDICT_REJECT}, govAna, govApprovers)
	require.NoError(t, err, "a proposer may withdraw")
}

// TestCFSGates: a failed projection's marker is a LOCKED gate until `cfa
// registry resolve`, whose receipt unlocks it; a promoted skill's gate is
// UNLOCKED with the receipts of its two transitions as evidence.
func TestCFSGates(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t, "db")
	s := db.New(d.Pool)
	ctx := context.Background()

	require.NoError(t, s.RecordProjectionFailure(ctx, db.ProjectionFailure{IntentID: "gate-failed-1", Scopes: []string{"dataset:x"},
		ParentVersionID: db.GenesisVersionID, Cause: "storage lost", FailedAt: time.Now()}))
	g, err := s.Gate(ctx, db.ProjectionFailureGateID("gate-failed-1"))
	require.NoError(t, err)
	require.Equal(t, cfspb.GateStatus_LOCKED, g.Gate.GetStatus())
	require.Equal(t, []string{"dataset:x"}, g.Gate.GetUnlocks())
	require.Empty(t, g.Gate.GetEvidence())

	ok, err := s.ResolveProjectionFailure(ctx, "gate-failed-1", db.Operator{By: "maria", Reason: "registry checked"})
	require.NoError(t, err)
	require.True(t, ok)
	g, err = s.Gate(ctx, db.ProjectionFailureGateID("gate-failed-1"))
	require.NoError(t, err)
	require.Equal(t, cfspb.GateStatus_UNLOCKED, g.Gate.GetStatus())
	require.Len(t, g.Gate.GetEvidence(), 1)
	require.True(t, g.Gate.GetRequirements()[0].GetSatisfied())

	id := activeSkill(t, s, "gate skill")
	g, err = s.Gate(ctx, db.PromotionGateID(id))
	require.NoError(t, err)
	require.Equal(t, cfspb.GateStatus_UNLOCKED, g.Gate.GetStatus())
	var reqs []string
	for _, e := range g.Gate.GetEvidence() {
		reqs = append(reqs, e.GetRequirementId())
		require.Contains(t, e.GetReceiptId(), db.SkillTransitionPrefix)
	}
	sort.Strings(reqs)
	require.Equal(t, []string{db.ReqArtifactFrozen, db.ReqGatePassed}, reqs)

	list, err := s.Gates(ctx, "", 100)
	require.NoError(t, err)
	require.Len(t, list, 2)
}

// TestCFSReadThroughViewDoesNotLeak: MUST-006. Through a view, a record
// the principal may not see and a record that does not exist give
// byte-identical errors with the same Connect code, and their latencies
// (medians of 1,000 interleaved reads each) are within 5% of each other.
// Not parallel: it measures time, and the package's parallel tests run
// after it.
func TestCFSReadThroughViewDoesNotLeak(t *testing.T) {
	d := dbtest.New(t, "db")
	s := db.New(d.Pool)
	ctx := context.Background()

	for _, p := range []*cfspb.Policy{
		allowPolicy("read-datasets", "READ", []string{"*"}, nil, []string{"doc"}, cfspb.Effect_ALLOW, 1),
		allowPolicy("hide-secret", "", []string{"*"}, nil, []string{"secret"}, cfspb.Effect_DENY, 5),
	} {
		_, _, err := s.PutCFSPolicy(ctx, p, false, govMaria)
		require.NoError(t, err)
	}
	_, _, err := s.PutCFSView(ctx, &cfspb.View{ViewId: "datasets", BaseQuery: &cfspb.Query{Language: "labels", Expression: "doc"},
		FieldMask: &fieldmaskpb.FieldMask{Paths: []string{"labels", "props.state"}}, PolicyRefs: []string{"read-datasets", "hide-secret"}}, false, govMaria)
	require.NoError(t, err)
	p := propose(t, s, govAna, govRecord("doc:visible", "committed"), govRecord("doc:hidden", "committed", "doc", "secret"))
	r := approve(t, s, p.GetProposalId(), govMaria)
	_, err = s.Apply(ctx, &cfspb.ApplyRequest{ProposalId: p.GetProposalId(), Approver: "maria", ApprovalRef: r.GetReceiptId()}, govMaria)
	require.NoError(t, err)

	view, err := s.LoadCFSView(ctx, "datasets")
	require.NoError(t, err)
	reader := &cfspb.Principal{Id: "ana", Type: cfspb.PrincipalType_HUMAN}
	read := func(id string) (*cfspb.Record, error) {
		return s.ReadRecordThroughView(ctx, view, id, reader, time.Time{}, time.Time{})
	}

	rec, err := read("doc:visible")
	require.NoError(t, err)
	require.Equal(t, []string{"doc"}, rec.GetLabels())
	_, has := rec.GetProps()["owner"]
	require.False(t, has, "a masked property is absent")
	require.Equal(t, "committed", rec.GetProps()["state"].GetStringValue())

	// The same id asked twice: one hidden, one missing, compared as bytes.
	// Ids of the same length so the error differs only if it leaks.
	_, denied := read("doc:hidden")
	_, missing := read("doc:absent")
	require.Error(t, denied)
	require.Error(t, missing)
	require.Equal(t, connect.CodeOf(denied), connect.CodeOf(missing))
	require.Equal(t, connect.CodeNotFound, connect.CodeOf(denied))
	require.Equal(t, denied.Error(), replaceID(missing.Error(), "doc:absent", "doc:hidden"), "denied and missing errors are byte-identical but for the id asked")
	_, missingSame := s.ReadRecordThroughView(ctx, view, "doc:hidden-gone", reader, time.Time{}, time.Time{})
	_, deniedSame := s.ReadRecordThroughView(ctx, view, "doc:hidden", reader, time.Time{}, time.Time{})
	require.Equal(t, replaceID(missingSame.Error(), "doc:hidden-gone", "X"), replaceID(deniedSame.Error(), "doc:hidden", "X"))

	const n = 1000
	var last string
	for attempt := 1; attempt <= 3; attempt++ {
		dd, mm := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
		for i := 0; i < 50; i++ { // warm up the pool and the plans
			_, _ = read("doc:hidden")
			_, _ = read("doc:absent")
		}
		for i := 0; i < n; i++ {
			// Interleaved, alternating which goes first.
			first, second, fd, sd := "doc:hidden", "doc:absent", &dd, &mm
			if i%2 == 1 {
				first, second, fd, sd = second, first, sd, fd
			}
			t0 := time.Now()
			_, _ = read(first)
			t1 := time.Now()
			_, _ = read(second)
			t2 := time.Now()
			*fd, *sd = append(*fd, t1.Sub(t0)), append(*sd, t2.Sub(t1))
		}
		md, mmid := median(dd), median(mm)
		ratio := float64(md) / float64(mmid)
		last = fmt.Sprintf("attempt %d: median denied %v, missing %v, ratio %.4f", attempt, md, mmid, ratio)
		t.Log(last)
		if ratio >= 0.95 && ratio <= 1.05 {
			return
		}
	}
	t.Fatalf("denied and missing reads differ by more than 5%% in time: %s", last)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func replaceID(s, id, with string) string {
	out := ""
	for {
		i := indexOf(s, id)
		if i < 0 {
			return out + s
		}
		out, s = out+s[:i]+with, s[i+len(id):]
	}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestRegistryOverrideThroughTheWriteProtocol: `cfa registry set` proposes
// the dataset's record; applying the approved proposal commits the
// registry snapshot (and so the record), and a proposal whose dataset
// changed since is refused.
func TestRegistryOverrideThroughTheWriteProtocol(t *testing.T) {
	d := dbtest.New(t, "db")
	s := db.New(d.Pool)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Microsecond)
	stale := registry.DatasetState{Name: "silver_documentos", State: registry.StateStale, UpdatedAt: at}
	p, _, err := s.ProposeDatasetStates(ctx, []registry.DatasetState{stale}, db.Operator{By: "ana", Reason: "checked the data"})
	require.NoError(t, err)
	require.Equal(t, []string{"dataset:silver_documentos"}, p.GetAffected())
	before, err := s.LatestSnapshot(ctx)
	require.NoError(t, err)
	_, found := before.Dataset("silver_documentos")
	require.False(t, found, "proposing changes nothing")

	r := approve(t, s, p.GetProposalId(), govMaria)
	_, err = s.Apply(ctx, &cfspb.ApplyRequest{ProposalId: p.GetProposalId(), Approver: "maria", ApprovalRef: r.GetReceiptId()}, govAna)
	require.NoError(t, err)
	after, err := s.LatestSnapshot(ctx)
	require.NoError(t, err)
	got, found := after.Dataset("silver_documentos")
	require.True(t, found)
	require.Equal(t, registry.StateStale, got.State)
	rec, err := s.GetRecordAsOf(ctx, "dataset:silver_documentos", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Equal(t, "stale", rec.GetProps()["state"].GetStringValue(), "the registry's record is the proposed one")

	// Proposed, then the dataset changes another way: apply is refused.
	committed := registry.DatasetState{Name: "silver_documentos", State: registry.StateCommitted, PublishAllowed: true, UpdatedAt: at.Add(time.Second)}
	p2, _, err := s.ProposeDatasetStates(ctx, []registry.DatasetState{committed}, db.Operator{By: "ana", Reason: "repaired"})
	require.NoError(t, err)
	_, _, err = s.OverrideDatasetStates(ctx, []registry.DatasetState{{Name: "silver_documentos", State: registry.StateQuarantined, UpdatedAt: at.Add(2 * time.Second)}},
		db.Operator{By: "maria", Reason: "quarantined meanwhile"})
	require.NoError(t, err)
	r2 := approve(t, s, p2.GetProposalId(), govMaria)
	_, err = s.Apply(ctx, &cfspb.ApplyRequest{ProposalId: p2.GetProposalId(), Approver: "maria", ApprovalRef: r2.GetReceiptId()}, govAna)
	require.ErrorIs(t, err, db.ErrBaseChanged)
	latest, err := s.LatestSnapshot(ctx)
	require.NoError(t, err)
	got, _ = latest.Dataset("silver_documentos")
	require.Equal(t, registry.StateQuarantined, got.State, "the refused apply changed nothing")

	// The registry's records and lineage are projected: a proposal may not
	// put another shape under a dataset id, nor retract a lineage link.
	for _, m := range []*cfspb.Mutation{
		govRecord("dataset:silver_documentos", "committed", "dataset"),
		{Change: &cfspb.Mutation_RetractLinkId{RetractLinkId: "lineage:intent-1:writes:dataset:silver_documentos"}},
	} {
		_, _, err := s.Propose(ctx, &cfspb.ProposeRequest{Mutations: []*cfspb.Mutation{m}, Intent: "by hand"}, govAna)
		require.ErrorIs(t, err, db.ErrInvalidProposal)
	}
}
