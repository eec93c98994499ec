package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/proto"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/access"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
	"github.com/contextualflux/cfa/internal/cfs/cfspb/cfspbconnect"
	"github.com/contextualflux/cfa/internal/identity"
	"github.com/contextualflux/cfa/internal/translog"
)

// QueryLanguageView reads through a CFS View (MUST-006): the expression is
// VIEW_ID (every record the view shows the caller) or VIEW_ID/RECORD_ID
// (one record; a record the caller may not see and one that does not exist
// give the same error).
const QueryLanguageView = "view"

// Fabric serves the CFS 0.1 protocols (ContextFabricService) on the same
// API, authenticated the same way: the caller's identity is the CFS
// Principal of every receipt (docs/adr/0151).
type Fabric struct {
	*Server
	// Signer signs checkpoints; nil: Checkpoint{sign_new} is refused with
	// FailedPrecondition and the latest recorded checkpoint is served.
	Signer note.Signer
}

var _ cfspbconnect.ContextFabricServiceHandler = Fabric{}

func (f Fabric) store() *db.Store { return f.Svc.Store }

// Query is the Read protocol. Its receipt (READ, the records and links
// answered as targets) is recorded here and returned in the response; the
// receipt interceptor leaves this procedure to it.
func (f Fabric) Query(ctx context.Context, req *connect.Request[cfspb.QueryRequest]) (*connect.Response[cfspb.QueryResponse], error) {
	p := caller(ctx)
	resp, err := f.query(ctx, p, req.Msg)
	targets := []string{"plane:query"}
	outcome, code := db.AccessOK, ""
	if err != nil {
		outcome, code = db.AccessFailed, connect.CodeOf(err).String()
		if connect.CodeOf(err) == connect.CodeInvalidArgument {
			outcome = db.AccessDenied
		}
	} else {
		for _, r := range resp.GetRecords() {
			targets = append(targets, "record:"+r.GetRecordId())
		}
		for _, l := range resp.GetLinks() {
			targets = append(targets, "link:"+l.GetLinkId())
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), receiptTimeout)
	defer cancel()
	rc, rerr := f.store().RecordAccess(rctx, db.Access{Actor: p.Audit(), Action: audit.ActionRead, Targets: targets,
		Via: "api", Operation: cfspbconnect.ContextFabricServiceQueryProcedure, Outcome: outcome, Code: code})
	if err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, errReceiptWithheld()
	}
	resp.Receipt = audit.ToProto(rc)
	return connect.NewResponse(resp), nil
}

func (f Fabric) query(ctx context.Context, p identity.Principal, req *cfspb.QueryRequest) (*cfspb.QueryResponse, error) {
	if err := validate(req); err != nil {
		return nil, err
	}
	if req.GetQuery().GetLanguage() != QueryLanguageView {
		resp, err := f.store().QueryPlane(ctx, req)
		return resp, planeError(err)
	}
	viewID, recordID, one := strings.Cut(req.GetQuery().GetExpression(), "/")
	view, err := f.store().LoadCFSView(ctx, viewID)
	if err != nil {
		if errors.Is(err, db.ErrCFSViewNotFound) && one {
			// As a denied read: a view the caller cannot name tells nothing.
			return nil, access.NotVisible(viewID, recordID)
		}
		return nil, planeError(err)
	}
	principal := principalProto(p)
	asOfValid, asOfSystem := asOf(req.GetAsOfValid()), asOf(req.GetAsOfSystem())
	if one {
		rec, err := f.store().ReadRecordThroughView(ctx, view, recordID, principal, asOfValid, asOfSystem)
		if err != nil {
			return nil, planeError(err)
		}
		return &cfspb.QueryResponse{Records: []*cfspb.Record{rec}}, nil
	}
	resp, err := f.store().QueryPlane(ctx, view.QueryRequest(asOfValid, asOfSystem, req.GetLimit(), req.GetCursor()))
	if err != nil {
		return nil, planeError(err)
	}
	now := time.Now()
	out := &cfspb.QueryResponse{NextCursor: resp.GetNextCursor()}
	for _, r := range view.Filter(principal, now, resp.GetRecords()) {
		out.Records = append(out.Records, view.MaskRecord(r))
	}
	for _, l := range view.FilterLinks(principal, now, resp.GetLinks()) {
		out.Links = append(out.Links, view.MaskLink(l))
	}
	return out, nil
}

// asOf is a QueryRequest time: unset stays zero (the plane reads it as
// the CFS "now").
func asOf(ts interface{ AsTime() time.Time }) time.Time {
	if ts == nil {
		return time.Time{}
	}
	if t, ok := ts.(interface{ IsValid() bool }); ok && !t.IsValid() {
		return time.Time{}
	}
	return ts.AsTime()
}

// Propose is step 1 of the Write protocol; its own trail is its receipt.
func (f Fabric) Propose(ctx context.Context, req *connect.Request[cfspb.ProposeRequest]) (*connect.Response[cfspb.ProposeResponse], error) {
	if err := validate(req.Msg); err != nil {
		return nil, err
	}
	resp, _, err := f.store().Propose(ctx, req.Msg, caller(ctx).Audit())
	if err != nil {
		return nil, planeError(err)
	}
	return connect.NewResponse(resp), nil
}

// Review is step 2: an APPROVE (or REJECT) receipt by the caller, who
// must be an approver of the policy bundle (or granted APPROVE by a CFS
// policy) and not the proposer.
func (f Fabric) Review(ctx context.Context, req *connect.Request[cfspb.ReviewRequest]) (*connect.Response[cfspb.ReviewResponse], error) {
	if err := validate(req.Msg); err != nil {
		return nil, err
	}
	resp, err := f.store().Review(ctx, req.Msg, caller(ctx).Audit(), db.ReviewersFrom(f.Bundle.Approvers))
	if err != nil {
		return nil, planeError(err)
	}
	return connect.NewResponse(resp), nil
}

// Apply is step 3: idempotent, refused without the approval or when the
// base changed.
func (f Fabric) Apply(ctx context.Context, req *connect.Request[cfspb.ApplyRequest]) (*connect.Response[cfspb.ApplyResponse], error) {
	if err := validate(req.Msg); err != nil {
		return nil, err
	}
	resp, err := f.store().Apply(ctx, req.Msg, caller(ctx).Audit())
	if err != nil {
		return nil, planeError(err)
	}
	return connect.NewResponse(resp), nil
}

// Sync exports canonical SyncEntry messages from a cursor.
func (f Fabric) Sync(ctx context.Context, req *connect.Request[cfspb.SyncRequest]) (*connect.Response[cfspb.SyncResponse], error) {
	if err := validate(req.Msg); err != nil {
		return nil, err
	}
	resp, err := f.store().ExportPlane(ctx, req.Msg)
	if err != nil {
		return nil, planeError(err)
	}
	return connect.NewResponse(resp), nil
}

// Checkpoint signs the current tree head (sign_new) or serves the latest
// recorded checkpoint.
func (f Fabric) Checkpoint(ctx context.Context, req *connect.Request[cfspb.CheckpointRequest]) (*connect.Response[cfspb.CheckpointResponse], error) {
	var cp db.StoredCheckpoint
	var err error
	if req.Msg.GetSignNew() {
		if f.Signer == nil {
			return nil, connect.NewError(connect.CodeFailedPrecondition, errors.New("this server has no checkpoint key: start it with CFA_CHECKPOINT_KEY (see `cfa audit keygen`), or ask for the latest checkpoint"))
		}
		cp, err = f.store().SignCheckpoint(ctx, f.Signer)
	} else {
		cp, err = f.store().LatestCheckpoint(ctx, translog.Origin)
	}
	if errors.Is(err, db.ErrNoCheckpoint) {
		return nil, connect.NewError(connect.CodeNotFound, err)
	}
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&cfspb.CheckpointResponse{SignedNote: string(cp.Note), TreeSize: int64(cp.Size), RootHash: cp.Root}), nil
}

// Inclusion proves a receipt is in the tree of tree_size receipts (0: the
// latest checkpoint's).
func (f Fabric) Inclusion(ctx context.Context, req *connect.Request[cfspb.InclusionRequest]) (*connect.Response[cfspb.InclusionResponse], error) {
	if req.Msg.GetReceiptId() == "" || req.Msg.GetTreeSize() < 0 {
		return nil, invalidArg("give a receipt_id and a tree_size ≥ 0 (0: the latest checkpoint's)")
	}
	size, err := f.treeSize(ctx, req.Msg.GetTreeSize())
	if err != nil {
		return nil, err
	}
	pr, err := f.store().InclusionProof(ctx, req.Msg.GetReceiptId(), size)
	if err != nil {
		return nil, proofError(err)
	}
	return connect.NewResponse(&cfspb.InclusionResponse{LeafIndex: int64(pr.Index), TreeSize: int64(pr.Size),
		LeafHash: translog.LeafHash(pr.Integrity), Proof: pr.Hashes, RootHash: pr.Root}), nil
}

// Consistency proves the tree of old_size receipts is a prefix of the tree
// of new_size (0: the latest checkpoint's).
func (f Fabric) Consistency(ctx context.Context, req *connect.Request[cfspb.ConsistencyRequest]) (*connect.Response[cfspb.ConsistencyResponse], error) {
	if req.Msg.GetOldSize() < 0 || req.Msg.GetNewSize() < 0 {
		return nil, invalidArg("old_size and new_size are tree sizes ≥ 0")
	}
	size, err := f.treeSize(ctx, req.Msg.GetNewSize())
	if err != nil {
		return nil, err
	}
	if uint64(req.Msg.GetOldSize()) > size {
		return nil, invalidArg("old_size %d is larger than new_size %d", req.Msg.GetOldSize(), size)
	}
	pr, err := f.store().ConsistencyProof(ctx, uint64(req.Msg.GetOldSize()), size)
	if err != nil {
		return nil, proofError(err)
	}
	return connect.NewResponse(&cfspb.ConsistencyResponse{OldSize: int64(pr.OldSize), NewSize: int64(pr.Size),
		OldRoot: pr.OldRoot, NewRoot: pr.Root, Proof: pr.Hashes}), nil
}

func (f Fabric) treeSize(ctx context.Context, asked int64) (uint64, error) {
	if asked > 0 {
		return uint64(asked), nil
	}
	cp, err := f.store().LatestCheckpoint(ctx, translog.Origin)
	if errors.Is(err, db.ErrNoCheckpoint) {
		return 0, connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("%w: give a tree_size, or sign a checkpoint first (Checkpoint with sign_new)", err))
	}
	if err != nil {
		return 0, toConnect(err)
	}
	return cp.Size, nil
}

func proofError(err error) error {
	switch {
	case errors.Is(err, db.ErrReceiptNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, db.ErrTreeTooLarge):
		return connect.NewError(connect.CodeOutOfRange, err)
	case errors.Is(err, translog.ErrTruncated):
		return connect.NewError(connect.CodeDataLoss, err)
	}
	return toConnect(err)
}

// planeError maps the context plane's and the write protocol's errors to
// Connect codes; a NotVisible error is passed as it is (byte-identical for
// denied and missing).
func planeError(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	switch {
	case errors.Is(err, db.ErrInvalidQuery), errors.Is(err, db.ErrInvalidProposal), errors.Is(err, cfs.ErrInvalid):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, db.ErrProposalNotFound), errors.Is(err, db.ErrCFSViewNotFound), errors.Is(err, db.ErrPlaneNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, db.ErrSelfApproval), errors.Is(err, db.ErrNotApprover):
		return connect.NewError(connect.CodePermissionDenied, err)
	case errors.Is(err, db.ErrNotApproved), errors.Is(err, db.ErrApprovalMismatch), errors.Is(err, db.ErrProposalClosed):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, db.ErrBaseChanged):
		return connect.NewError(connect.CodeAborted, err)
	}
	return toConnect(err)
}

// validate refuses a message that does not validate against the CFS
// schemas (MUST-001) as InvalidArgument.
func validate(m proto.Message) error {
	if err := cfs.Validate(m); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, err)
	}
	return nil
}

// principalProto is the caller as a CFS Principal.
func principalProto(p identity.Principal) *cfspb.Principal {
	return audit.ToProto(audit.Receipt{Actor: p.Audit()}).GetActor()
}
