package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/workflows"
)

// ListFilter selects intents by what their search attributes say.
type ListFilter struct {
	// Pending keeps only running intents with an open escalation.
	Pending       bool
	DecisionState string
	Dataset       string
	SubmittedBy   string
	// StartedAfter and StartedBefore bound the start time; zero is open.
	StartedAfter, StartedBefore time.Time
	PageSize                    int
	PageToken                   []byte
}

// MaxListPage bounds a page of ListIntents.
const MaxListPage = 200

// ListQuery is the Temporal visibility query of a filter: top-level intents
// and composite intents (sub-intents are listed under their composite).
func ListQuery(f ListFilter) (string, error) {
	clauses := []string{fmt.Sprintf("WorkflowType IN ('%s', '%s')", workflows.IntentWorkflowName, workflows.CompositeIntentWorkflowName)}
	keyword := func(attr, v, what string) error {
		if v == "" {
			return nil
		}
		// Keyword values are compared whole; a quote cannot be escaped in
		// every server version, so it is refused.
		if strings.ContainsAny(v, "'\"\\\n\r") || len(v) > 256 {
			return fmt.Errorf("%s %q: use a name without quotes, backslashes or line breaks, at most 256 bytes", what, v)
		}
		clauses = append(clauses, fmt.Sprintf("%s = '%s'", attr, v))
		return nil
	}
	if f.Pending {
		clauses = append(clauses, "ExecutionStatus = 'Running'", workflows.AttrConfirmationMode.GetName()+" IS NOT NULL")
	}
	for _, k := range []struct{ attr, v, what string }{
		{workflows.AttrDecisionState.GetName(), f.DecisionState, "decision_state"},
		{workflows.AttrTargetDataset.GetName(), f.Dataset, "dataset"},
		{workflows.AttrSubmittedBy.GetName(), f.SubmittedBy, "submitter"},
	} {
		if err := keyword(k.attr, k.v, k.what); err != nil {
			return "", invalid(err)
		}
	}
	if !f.StartedAfter.IsZero() {
		clauses = append(clauses, fmt.Sprintf("StartTime > '%s'", f.StartedAfter.UTC().Format(time.RFC3339Nano)))
	}
	if !f.StartedBefore.IsZero() {
		clauses = append(clauses, fmt.Sprintf("StartTime < '%s'", f.StartedBefore.UTC().Format(time.RFC3339Nano)))
	}
	if !f.StartedAfter.IsZero() && !f.StartedBefore.IsZero() && !f.StartedAfter.Before(f.StartedBefore) {
		return "", invalid(errors.New("started_after must be before started_before"))
	}
	return strings.Join(clauses, " AND "), nil
}

// IntentSummary is one listed intent, from its visibility record (no query
// to a worker).
type IntentSummary struct {
	IntentID         string    `json:"intent_id"`
	Kind             string    `json:"kind"` // intent or composite
	ExecutionStatus  string    `json:"execution_status"`
	Stage            string    `json:"stage,omitempty"`
	DecisionState    string    `json:"decision_state,omitempty"`
	TargetDataset    string    `json:"target_dataset,omitempty"`
	SubmittedBy      string    `json:"submitted_by,omitempty"`
	ConfirmationMode string    `json:"confirmation_mode,omitempty"`
	Approvers        []string  `json:"approvers,omitempty"`
	StartedAt        time.Time `json:"started_at"`
	ClosedAt         time.Time `json:"closed_at,omitzero"`
}

// ListIntents lists intents newest first, one page; the returned token
// asks for the next page (nil at the end).
func (s *Service) ListIntents(ctx context.Context, f ListFilter) ([]IntentSummary, []byte, error) {
	q, err := ListQuery(f)
	if err != nil {
		return nil, nil, err
	}
	size := f.PageSize
	switch {
	case size <= 0:
		size = 50
	case size > MaxListPage:
		return nil, nil, invalid(fmt.Errorf("page_size %d is more than %d: ask for fewer and page with page_token", size, MaxListPage))
	}
	page, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: int32(size), NextPageToken: f.PageToken})
	if err != nil {
		var ia *serviceerror.InvalidArgument
		if errors.As(err, &ia) && len(f.PageToken) > 0 {
			return nil, nil, invalid(fmt.Errorf("page_token is not one this server gave: start again without it (%w)", err))
		}
		return nil, nil, fmt.Errorf("list intents: %w (are the search attributes registered? the worker registers them at start)", err)
	}
	out := make([]IntentSummary, 0, len(page.GetExecutions()))
	for _, e := range page.GetExecutions() {
		sa := e.GetSearchAttributes().GetIndexedFields()
		kind := "intent"
		if e.GetType().GetName() == workflows.CompositeIntentWorkflowName {
			kind = "composite"
		}
		x := IntentSummary{
			IntentID: e.GetExecution().GetWorkflowId(), Kind: kind,
			ExecutionStatus:  strings.ToUpper(strings.TrimPrefix(e.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_")),
			Stage:            keywordOf(sa, workflows.AttrStage.GetName()),
			DecisionState:    keywordOf(sa, workflows.AttrDecisionState.GetName()),
			TargetDataset:    keywordOf(sa, workflows.AttrTargetDataset.GetName()),
			SubmittedBy:      keywordOf(sa, workflows.AttrSubmittedBy.GetName()),
			ConfirmationMode: keywordOf(sa, workflows.AttrConfirmationMode.GetName()),
			StartedAt:        e.GetStartTime().AsTime().UTC(),
		}
		if p := sa[workflows.AttrApprovers.GetName()]; p != nil {
			_ = converter.GetDefaultDataConverter().FromPayload(p, &x.Approvers)
		}
		if e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && e.GetCloseTime() != nil {
			x.ClosedAt = e.GetCloseTime().AsTime().UTC()
		}
		out = append(out, x)
	}
	return out, page.GetNextPageToken(), nil
}

func keywordOf(sa map[string]*commonpb.Payload, name string) string {
	p := sa[name]
	if p == nil {
		return ""
	}
	var v string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &v); err != nil {
		return ""
	}
	return v
}

// ErrNotRunning says a cancellation found the intent already finished.
var ErrNotRunning = errors.New("intent is not running")

// CancelAs asks a running intent to stop, for an authenticated caller:
// who asked, and why, is audited before the cancellation is sent. The
// workflow blocks the intent as cancelled (I5: it is still decided and
// audited), interrupts its units and releases its scopes. An intent that
// ended is left as it is.
func (s *Service) CancelAs(ctx context.Context, intentID string, by Caller, reason string) error {
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, intentID, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return fmt.Errorf("%w %q: no workflow has that id", ErrUnknownIntent, intentID)
		}
		return fmt.Errorf("describe intent %s: %w", intentID, err)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return fmt.Errorf("cancel %s: %w; it already ended (see its status)", intentID, ErrNotRunning)
	}
	if s.Store != nil {
		p := audit.Principal{ID: by.ID, Type: audit.PrincipalType(by.Type), AuthContext: by.AuthContext}
		if p.Type == "" {
			p.Type = audit.PrincipalHuman
		}
		if _, err := s.Store.RecordCancelRequest(ctx, intentID, p, reason); err != nil {
			return err
		}
	}
	if err := s.Temporal.CancelWorkflow(ctx, intentID, ""); err != nil {
		return fmt.Errorf("cancel %s: %w", intentID, err)
	}
	return nil
}
