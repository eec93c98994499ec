package workflows

import (
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/internal/signature"
)

// Custom search attributes (Keyword) an IntentWorkflow keeps current, so
// the Temporal Web UI and `temporal workflow list --query` can filter
// intents without reading their results (README "Approving from the
// Temporal Web UI"). They must be registered on the namespace: the dev
// server with DevServerArgs, a cluster with `temporal operator
// search-attribute create` (the worker refuses to start without them).
var (
	// AttrStage is the stage the intent is at (status.stage).
	AttrStage = temporal.NewSearchAttributeKeyKeyword("CfaStage")
	// AttrConfirmationMode is the mode of the escalation waiting for an
	// answer, "" when none is open.
	AttrConfirmationMode = temporal.NewSearchAttributeKeyKeyword("CfaConfirmationMode")
	// AttrDecisionState is the decision, once made.
	AttrDecisionState = temporal.NewSearchAttributeKeyKeyword("CfaDecisionState")
	// AttrTargetDataset is the dataset the intent writes or publishes.
	AttrTargetDataset = temporal.NewSearchAttributeKeyKeyword("CfaTargetDataset")
	// AttrApprovers (KeywordList) are who may answer the open escalation:
	// `CfaApprovers = 'maria'` lists what waits for maria.
	AttrApprovers = temporal.NewSearchAttributeKeyKeywordList("CfaApprovers")
	// AttrSubmittedBy is who submitted the intent (its principal id), set
	// when it starts.
	AttrSubmittedBy = temporal.NewSearchAttributeKeyKeyword("CfaSubmittedBy")
)

// SearchAttributes maps their names to their types, as the dev server's
// --search-attribute flag and `temporal operator search-attribute create`
// name them.
var SearchAttributes = map[string]string{
	AttrStage.GetName(): "Keyword", AttrConfirmationMode.GetName(): "Keyword", AttrDecisionState.GetName(): "Keyword",
	AttrTargetDataset.GetName(): "Keyword", AttrApprovers.GetName(): "KeywordList", AttrSubmittedBy.GetName(): "Keyword",
}

// SearchAttributeNames lists them in a fixed order.
func SearchAttributeNames() []string {
	names := make([]string, 0, len(SearchAttributes))
	for n := range SearchAttributes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// DevServerArgs registers the search attributes on `temporal server
// start-dev`.
func DevServerArgs() []string {
	var out []string
	for _, n := range SearchAttributeNames() {
		out = append(out, "--search-attribute", n+"="+SearchAttributes[n])
	}
	return out
}

// showIndex shows the intent's stage, open escalation, decision and target in
// its search attributes. Three moments only (an escalation opens, closes,
// the intent is decided): each upsert is a command in the history.
func (f *intentFlow) showIndex(mode string, approvers []string, sig *signature.Signature) {
	updates := []temporal.SearchAttributeUpdate{AttrStage.ValueSet(f.status.Stage), AttrConfirmationMode.ValueUnset(), AttrApprovers.ValueUnset()}
	if mode != "" {
		updates[1], updates[2] = AttrConfirmationMode.ValueSet(mode), AttrApprovers.ValueSet(approvers)
	}
	if sig != nil {
		if ts := sig.Targets(); len(ts) > 0 {
			updates = append(updates, AttrTargetDataset.ValueSet(ts[0].Name))
		}
	}
	if f.result.DecisionState != "" {
		updates = append(updates, AttrDecisionState.ValueSet(string(f.result.DecisionState)))
	}
	if err := workflow.UpsertTypedSearchAttributes(f.ctx, updates...); err != nil {
		workflow.GetLogger(f.ctx).Warn("search attributes not updated", "intent_id", f.id, "error", err)
	}
}
