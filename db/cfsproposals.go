package db

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/access"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/contextplane"
	"github.com/contextualflux/cfa/internal/registry"
)

// The CFS write protocol, Propose -> Review -> Apply (docs/adr/0150).
// Each step is a trail of its own, CFSTrailPrefix + "proposal-<id>-<step>",
// correlated by "proposal:<id>", so AuditByCorrelation reads a proposal's
// whole history and every trail is complete (complete_per_intent).

// Sentinel errors of the write protocol.
var (
	ErrProposalNotFound = errors.New("proposal not found")
	// ErrProposalClosed: the proposal was already reviewed (or applied).
	ErrProposalClosed = errors.New("proposal already reviewed")
	// ErrSelfApproval: the proposer may not approve their own proposal.
	ErrSelfApproval = errors.New("a proposer may not approve their own proposal")
	// ErrNotApprover: the reviewer is neither a declared approver nor
	// granted APPROVE on every affected resource by a CFS policy.
	ErrNotApprover = errors.New("not allowed to review this proposal")
	// ErrNotApproved: Apply without an APPROVE receipt.
	ErrNotApproved = errors.New("proposal not approved")
	// ErrApprovalMismatch: approval_ref or approver is not the proposal's
	// APPROVE receipt and its actor.
	ErrApprovalMismatch = errors.New("approval does not match the proposal's APPROVE receipt")
	// ErrBaseChanged: an affected record or link has a newer version than
	// at propose time.
	ErrBaseChanged = errors.New("the base of the proposal changed")
	// ErrInvalidProposal: the request cannot be proposed.
	ErrInvalidProposal = errors.New("invalid proposal")
)

// Proposal statuses.
const (
	ProposalProposed = "proposed"
	ProposalApproved = "approved"
	ProposalRejected = "rejected"
	ProposalApplied  = "applied"
)

// Proposal is a stored proposal.
type Proposal struct {
	ID             string
	Request        *cfspb.ProposeRequest
	Diff           *cfspb.Diff
	Affected       []string
	Base           map[string]string // target -> hex integrity at propose time ("" when new)
	Proposer       audit.Principal
	Status         string
	ProposeReceipt string
	Reviewer       string
	ReviewReceipt  string
	ApplyReceipt   string
	CommitID       string
}

// Reviewers is who may review a proposal besides the CFS policies granting
// APPROVE: the policy bundle's declared approvers (see ADR 0150).
type Reviewers []string

func proposalTrail(id, step string) string { return CFSTrailPrefix + "proposal-" + id + "-" + step }

// ProposalCorrelation is the correlation id of every trail of a proposal.
func ProposalCorrelation(id string) string { return "proposal:" + id }

// Propose plans req's mutations against the current plane, stores the
// proposal with its diff, its affected records and its base (the
// integrities of their current versions) and audits it (CFS_PROPOSED,
// action WRITE). Nothing is written to the plane.
func (s *Store) Propose(ctx context.Context, req *cfspb.ProposeRequest, proposer audit.Principal) (*cfspb.ProposeResponse, audit.Receipt, error) {
	if err := checkPrincipal("propose", proposer); err != nil {
		return nil, audit.Receipt{}, err
	}
	switch {
	case len(req.GetMutations()) == 0:
		return nil, audit.Receipt{}, fmt.Errorf("propose: %w: give at least one mutation", ErrInvalidProposal)
	case strings.TrimSpace(req.GetIntent()) == "":
		return nil, audit.Receipt{}, fmt.Errorf("propose: %w: say why (intent): reviewers read it", ErrInvalidProposal)
	}
	if _, err := registryStates(req.GetMutations()); err != nil {
		return nil, audit.Receipt{}, fmt.Errorf("propose: %w: %w", ErrInvalidProposal, err)
	}
	diff, affected, err := s.PlanMutations(ctx, req.GetMutations())
	if err != nil {
		return nil, audit.Receipt{}, fmt.Errorf("propose: plan the mutations: %w", err)
	}
	reqBytes, err := cfs.Canonical(req)
	if err != nil {
		return nil, audit.Receipt{}, fmt.Errorf("propose: %w", err)
	}
	diffBytes, err := cfs.Canonical(diff)
	if err != nil {
		return nil, audit.Receipt{}, fmt.Errorf("propose: %w", err)
	}
	base, err := json.Marshal(baseOf(diff))
	if err != nil {
		return nil, audit.Receipt{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, audit.Receipt{}, err
	}
	pid := id.String()
	affected = nonNil(affected)
	var rec audit.Receipt
	err = s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		now := nowMicro()
		rec, err = appendCFSStep(ctx, q, cfsStep{trail: proposalTrail(pid, "propose"), correlation: ProposalCorrelation(pid),
			actor: proposer, action: audit.ActionWrite, outcome: ProposalProposed, targets: append([]string{"proposal:" + pid}, affected...), at: now,
			details: events.CFSProposed{ProposalID: pid, Intent: req.GetIntent(), Citations: req.GetCitations(), Affected: affected,
				Changes: len(diff.GetChanges()), DiffSHA256: sha256Hex(diffBytes)}})
		if err != nil {
			return err
		}
		return q.InsertCFSProposal(ctx, dbsqlc.InsertCFSProposalParams{ProposalID: pid, Request: reqBytes, Diff: diffBytes, Affected: affected,
			Base: base, Intent: req.GetIntent(), ProposerID: proposer.ID, ProposerType: string(proposer.Type), ProposeReceipt: rec.ReceiptID, CreatedAt: now})
	})
	if err != nil {
		return nil, audit.Receipt{}, fmt.Errorf("propose: %w", err)
	}
	return &cfspb.ProposeResponse{ProposalId: pid, Diff: diff, Affected: affected}, rec, nil
}

// baseOf maps each changed target to the hex integrity of its current
// version ("" for a create).
func baseOf(d *cfspb.Diff) map[string]string {
	m := make(map[string]string, len(d.GetChanges()))
	for _, c := range d.GetChanges() {
		m[c.GetKind()+":"+c.GetTarget()] = hex.EncodeToString(c.GetBeforeIntegrity())
	}
	return m
}

// Review records a verdict on a proposal. APPROVE: the reviewer is not the
// proposer, and is one of reviewers or granted APPROVE by the CFS policies
// on every affected resource; the receipt (action APPROVE, outcome
// approved) is what Apply cites. REJECT: by anyone allowed to approve, or
// the proposer (a withdrawal). A refused review is audited too (outcome
// refused) and returns ErrSelfApproval or ErrNotApprover. Reviewing again
// with the same verdict by the same reviewer returns the first receipt.
func (s *Store) Review(ctx context.Context, req *cfspb.ReviewRequest, reviewer audit.Principal, reviewers Reviewers) (*cfspb.ReviewResponse, error) {
	if err := checkPrincipal("review", reviewer); err != nil {
		return nil, err
	}
	verdict, outcome := "", ""
	switch req.GetVerdict() {
	case cfspb.Verdict_VERDICT_APPROVE:
		verdict, outcome = "approve", ProposalApproved
	case cfspb.Verdict_VERDICT_REJECT:
		verdict, outcome = "reject", ProposalRejected
	default:
		return nil, fmt.Errorf("review proposal %s: %w: give the verdict approve or reject", req.GetProposalId(), ErrInvalidProposal)
	}
	pid := req.GetProposalId()
	var out audit.Receipt
	var refused error
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		row, err := q.LockCFSProposal(ctx, pid)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrProposalNotFound, pid)
		}
		if err != nil {
			return err
		}
		if row.Status != ProposalProposed {
			if row.ReviewReceipt != nil && deref(row.Reviewer) == reviewer.ID && (row.Status == outcome || (row.Status == ProposalApplied && outcome == ProposalApproved)) {
				out, err = receiptByID(ctx, q, *row.ReviewReceipt)
				return err
			}
			return fmt.Errorf("%w: proposal %s is %s (by %s)", ErrProposalClosed, pid, row.Status, deref(row.Reviewer))
		}
		allowedBy, why := s.mayApprove(ctx, q, row, reviewer, reviewers)
		switch {
		case verdict == "approve" && reviewer.ID == row.ProposerID:
			refused = fmt.Errorf("%w: %s proposed %s; ask a declared approver", ErrSelfApproval, reviewer.ID, pid)
		case verdict == "approve" && allowedBy == "":
			refused = fmt.Errorf("%w: %s: %s", ErrNotApprover, reviewer.ID, why)
		case verdict == "reject" && allowedBy == "" && reviewer.ID != row.ProposerID:
			refused = fmt.Errorf("%w: %s: %s", ErrNotApprover, reviewer.ID, why)
		case verdict == "reject" && allowedBy == "":
			allowedBy = "proposer (withdrawal)"
		}
		now := nowMicro()
		step := cfsStep{correlation: ProposalCorrelation(pid), actor: reviewer, action: audit.ActionApprove,
			targets: append([]string{"proposal:" + pid}, row.Affected...), at: now}
		if refused != nil {
			step.trail, step.outcome = proposalTrail(pid, "review-refused-"+uuid.NewString()[:8]), "refused"
			step.details = events.CFSReviewed{ProposalID: pid, Verdict: verdict, Comment: req.GetComment(), Refused: refused.Error()}
			_, err := appendCFSStep(ctx, q, step)
			return err // committed: the refusal is on record
		}
		step.trail, step.outcome = proposalTrail(pid, "review"), outcome
		step.details = events.CFSReviewed{ProposalID: pid, Verdict: verdict, Comment: req.GetComment(), AllowedBy: allowedBy}
		if out, err = appendCFSStep(ctx, q, step); err != nil {
			return err
		}
		return q.ReviewCFSProposal(ctx, dbsqlc.ReviewCFSProposalParams{ProposalID: pid, Status: outcome, Reviewer: &reviewer.ID,
			ReviewReceipt: &out.ReceiptID, UpdatedAt: now})
	})
	if err == nil && refused != nil {
		err = refused
	}
	if err != nil {
		return nil, fmt.Errorf("review proposal %s: %w", pid, err)
	}
	return &cfspb.ReviewResponse{Receipt: audit.ToProto(out)}, nil
}

// mayApprove says what allows reviewer to approve the proposal ("" when
// nothing does, with why).
func (s *Store) mayApprove(ctx context.Context, q *dbsqlc.Queries, row dbsqlc.CfsProposal, reviewer audit.Principal, reviewers Reviewers) (string, string) {
	if slices.Contains(reviewers, reviewer.ID) {
		return "bundle approvers", ""
	}
	policies, err := cfsPolicies(ctx, q)
	if err != nil {
		return "", err.Error()
	}
	set, err := access.Load(policies)
	if err != nil {
		return "", "the CFS policies do not load: " + err.Error()
	}
	p := &cfspb.Principal{Id: reviewer.ID, Type: cfspb.PrincipalType(cfspb.PrincipalType_value[string(reviewer.Type)]), AuthContext: reviewer.AuthContext}
	now := nowMicro()
	var by []string
	for _, target := range row.Affected {
		d := set.Evaluate(access.Request{Principal: p, Action: cfspb.Action_APPROVE, Resource: access.Resource{ID: target}, At: now})
		if !d.Allowed {
			return "", fmt.Sprintf("not a declared approver (%s) and no CFS policy grants APPROVE on %s (%s)", strings.Join(reviewers, ", "), target, d.Reason)
		}
		if !slices.Contains(by, d.PolicyID) {
			by = append(by, d.PolicyID)
		}
	}
	if len(row.Affected) == 0 {
		return "", "not a declared approver and the proposal affects nothing a CFS policy could grant"
	}
	return "cfs policy " + strings.Join(by, ", "), ""
}

// Apply commits an approved proposal's mutations to the plane, in one
// transaction with its receipt (CFS_PROPOSAL_APPLIED, action WRITE).
// approval_ref must be the proposal's APPROVE receipt and approver its
// actor. It is refused when an affected record or link has a newer version
// than at propose time (ErrBaseChanged: propose again). It is idempotent:
// applying an applied proposal returns its commit id and receipts and
// writes nothing.
func (s *Store) Apply(ctx context.Context, req *cfspb.ApplyRequest, by audit.Principal) (*cfspb.ApplyResponse, error) {
	if err := checkPrincipal("apply", by); err != nil {
		return nil, err
	}
	pid := req.GetProposalId()
	var resp *cfspb.ApplyResponse
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		row, err := q.LockCFSProposal(ctx, pid)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrProposalNotFound, pid)
		}
		if err != nil {
			return err
		}
		if row.Status != ProposalApproved && row.Status != ProposalApplied {
			return fmt.Errorf("%w: proposal %s is %s: it needs an APPROVE receipt (`cfa review %s --approve`)", ErrNotApproved, pid, row.Status, pid)
		}
		if err := checkApproval(ctx, q, row, req); err != nil {
			return err
		}
		if row.Status == ProposalApplied {
			r, err := receiptByID(ctx, q, deref(row.ApplyReceipt))
			if err != nil {
				return err
			}
			resp = &cfspb.ApplyResponse{Success: true, CommitId: deref(row.CommitID), Receipts: []*cfspb.Receipt{audit.ToProto(r)}}
			return nil
		}
		var preq cfspb.ProposeRequest
		if err := proto.Unmarshal(row.Request, &preq); err != nil {
			return fmt.Errorf("decode the stored request: %w", err)
		}
		var base map[string]string
		if err := json.Unmarshal(row.Base, &base); err != nil {
			return fmt.Errorf("decode the stored base: %w", err)
		}
		commitID := "proposal-" + pid
		// Dataset records are the Context Registry's: their new versions
		// are written here, and the registry snapshot with the same states
		// is committed in this transaction too, so its projection finds
		// them unchanged (docs/adr/0152).
		states, err := registryStates(preq.GetMutations())
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidProposal, err)
		}
		diff, _, err := planeWrite(ctx, q, commitID, "proposal "+pid+": "+row.Intent, by.ID, preq.GetMutations(), true)
		if err != nil {
			return fmt.Errorf("apply the mutations: %w", err)
		}
		if moved := baseMoved(base, diff); len(moved) > 0 {
			return fmt.Errorf("%w: %s have a newer version than when proposed: propose again (`cfa propose`) so reviewers see the current diff", ErrBaseChanged, strings.Join(moved, ", "))
		}
		if len(states) > 0 {
			if _, _, err := overrideInTx(ctx, q, states, Operator{By: by.ID, Reason: "proposal " + pid + ": " + row.Intent}); err != nil {
				return fmt.Errorf("commit the registry snapshot of the proposal's dataset records: %w", err)
			}
		}
		now := nowMicro()
		r, err := appendCFSStep(ctx, q, cfsStep{trail: proposalTrail(pid, "apply"), correlation: ProposalCorrelation(pid), actor: by,
			action: audit.ActionWrite, outcome: ProposalApplied, targets: append([]string{"proposal:" + pid}, row.Affected...), at: now,
			details: events.CFSApplied{ProposalID: pid, CommitID: commitID, Approver: req.GetApprover(), ApprovalRef: req.GetApprovalRef()}})
		if err != nil {
			return err
		}
		if err := q.ApplyCFSProposal(ctx, dbsqlc.ApplyCFSProposalParams{ProposalID: pid, ApplyReceipt: &r.ReceiptID, CommitID: &commitID, UpdatedAt: now}); err != nil {
			return fmt.Errorf("mark applied: %w", err)
		}
		resp = &cfspb.ApplyResponse{Success: true, CommitId: commitID, Receipts: []*cfspb.Receipt{audit.ToProto(r)}}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("apply proposal %s: %w", pid, err)
	}
	return resp, nil
}

// checkApproval: approval_ref is the proposal's review receipt, an APPROVE
// of outcome approved by approver.
func checkApproval(ctx context.Context, q *dbsqlc.Queries, row dbsqlc.CfsProposal, req *cfspb.ApplyRequest) error {
	ref := req.GetApprovalRef()
	if ref == "" || ref != deref(row.ReviewReceipt) {
		return fmt.Errorf("%w: approval_ref %q is not the APPROVE receipt of proposal %s (`cfa review` printed it)", ErrApprovalMismatch, ref, row.ProposalID)
	}
	r, err := receiptByID(ctx, q, ref)
	if err != nil {
		return err
	}
	if r.Action != audit.ActionApprove || r.EventType() != audit.EventCFSReviewed || r.Context[audit.CtxOutcome] != ProposalApproved {
		return fmt.Errorf("%w: receipt %s is not an approval (%s %s)", ErrApprovalMismatch, ref, r.Action, r.EventType())
	}
	if req.GetApprover() != r.Actor.ID {
		return fmt.Errorf("%w: receipt %s was approved by %s, not %q", ErrApprovalMismatch, ref, r.Actor.ID, req.GetApprover())
	}
	return nil
}

// baseMoved lists the targets whose version before the apply is not the
// one the proposal was made against.
func baseMoved(base map[string]string, applied *cfspb.Diff) []string {
	var moved []string
	for _, c := range applied.GetChanges() {
		key := c.GetKind() + ":" + c.GetTarget()
		want, ok := base[key]
		got := hex.EncodeToString(c.GetBeforeIntegrity())
		if !ok || want != got {
			moved = append(moved, key)
		}
	}
	return moved
}

func receiptByID(ctx context.Context, q *dbsqlc.Queries, id string) (audit.Receipt, error) {
	row, err := q.CFSReceipt(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Receipt{}, fmt.Errorf("receipt %s is not in the audit chain", id)
	}
	if err != nil {
		return audit.Receipt{}, fmt.Errorf("read receipt %s: %w", id, err)
	}
	return receipt(row)
}

// GetProposal reads a proposal.
func (s *Store) GetProposal(ctx context.Context, id string) (Proposal, error) {
	row, err := s.q.CFSProposal(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Proposal{}, fmt.Errorf("%w: %s", ErrProposalNotFound, id)
	}
	if err != nil {
		return Proposal{}, fmt.Errorf("read proposal %s: %w", id, err)
	}
	return proposalOf(row)
}

// Proposals lists proposals, newest first, of one status ("" for all).
func (s *Store) Proposals(ctx context.Context, status string, limit int) ([]Proposal, error) {
	rows, err := s.q.CFSProposals(ctx, dbsqlc.CFSProposalsParams{Status: optional(status), MaxRows: listLimit(limit)})
	if err != nil {
		return nil, fmt.Errorf("list proposals: %w", err)
	}
	out := make([]Proposal, 0, len(rows))
	for _, r := range rows {
		p, err := proposalOf(r)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func proposalOf(r dbsqlc.CfsProposal) (Proposal, error) {
	p := Proposal{ID: r.ProposalID, Request: &cfspb.ProposeRequest{}, Diff: &cfspb.Diff{}, Affected: r.Affected,
		Proposer: audit.Principal{ID: r.ProposerID, Type: audit.PrincipalType(r.ProposerType)}, Status: r.Status,
		ProposeReceipt: r.ProposeReceipt, Reviewer: deref(r.Reviewer), ReviewReceipt: deref(r.ReviewReceipt),
		ApplyReceipt: deref(r.ApplyReceipt), CommitID: deref(r.CommitID)}
	if err := proto.Unmarshal(r.Request, p.Request); err != nil {
		return Proposal{}, fmt.Errorf("decode proposal %s: %w", r.ProposalID, err)
	}
	if err := proto.Unmarshal(r.Diff, p.Diff); err != nil {
		return Proposal{}, fmt.Errorf("decode the diff of proposal %s: %w", r.ProposalID, err)
	}
	if err := json.Unmarshal(r.Base, &p.Base); err != nil {
		return Proposal{}, fmt.Errorf("decode the base of proposal %s: %w", r.ProposalID, err)
	}
	return p, nil
}

// ReviewersFrom is who the policy bundle declares as approvers, for the
// write protocol: anyone declared for any category of
// confirmation.approvers (groups expanded, sorted). A manual change of the
// context plane belongs to no single escalation category (docs/adr/0150);
// narrower rights come from CFS policies granting APPROVE.
func ReviewersFrom(a confirmation.Approvers) Reviewers {
	var out Reviewers
	for _, c := range confirmation.Categories {
		for _, n := range a.ForCategory(c).Approvers {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}

// registryStates are the registry states of the dataset records a
// proposal puts. A dataset record must be exactly the registry's form of a
// state, and lineage links are not retracted by hand: both are projected.
func registryStates(muts []*cfspb.Mutation) ([]registry.DatasetState, error) {
	var states []registry.DatasetState
	for _, m := range muts {
		if id := m.GetRetractLinkId(); strings.HasPrefix(id, "lineage:") {
			return nil, fmt.Errorf("link %s is an execution's lineage: it is projected, not retracted by hand", id)
		}
		r := m.GetPutRecord()
		if !strings.HasPrefix(r.GetRecordId(), "dataset:") {
			continue
		}
		d, ok, err := contextplane.DatasetStateOf(r)
		if err == nil && !ok {
			err = fmt.Errorf("record %s has no %q label", r.GetRecordId(), contextplane.LabelDataset)
		}
		if err == nil && !d.UpdatedAt.Equal(d.UpdatedAt.Truncate(time.Microsecond)) {
			err = fmt.Errorf("record %s: updated_at %s is finer than the registry keeps: give microseconds", r.GetRecordId(), d.UpdatedAt.Format(time.RFC3339Nano))
		}
		if err == nil {
			want := contextplane.DatasetRecord(d)
			want.CreatedAt, want.Integrity = r.GetCreatedAt(), r.GetIntegrity()
			if !proto.Equal(want, r) {
				err = fmt.Errorf("record %s carries more or other than the registry's dataset state", r.GetRecordId())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%w: dataset:* records are the Context Registry's; change one with `cfa registry set` (a proposal of exactly its state)", err)
		}
		states = append(states, d)
	}
	return states, nil
}

// ProposeDatasetStates is `cfa registry set`: a manual change of datasets'
// environment_state is a proposal of their registry records (Propose →
// Review → Apply); applying it commits the registry snapshot, as
// OverrideDatasetStates does, in the apply's transaction (docs/adr/0152).
func (s *Store) ProposeDatasetStates(ctx context.Context, changes []registry.DatasetState, op Operator) (*cfspb.ProposeResponse, audit.Receipt, error) {
	if err := op.check("propose a registry override"); err != nil {
		return nil, audit.Receipt{}, err
	}
	if err := checkDatasets(changes); err != nil {
		return nil, audit.Receipt{}, err
	}
	muts := make([]*cfspb.Mutation, len(changes))
	for i, d := range changes {
		d.UpdatedAt = d.UpdatedAt.UTC().Truncate(time.Microsecond) // what the registry keeps
		muts[i] = &cfspb.Mutation{Change: &cfspb.Mutation_PutRecord{PutRecord: contextplane.DatasetRecord(d)}}
	}
	return s.Propose(ctx, &cfspb.ProposeRequest{Mutations: muts, Intent: op.Reason, Citations: []string{"cfa registry set"}}, op.principal())
}
