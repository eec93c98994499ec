package audit

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The audit trail read two ways (the API's GetAuditTrail): how the intents
// ran (operational), and what was decided on what grounds (compliance).
// Both are computed from the sealed receipts alone.

// StageTiming is one stage of one intent: when its first and last events
// were recorded, and how many.
type StageTiming struct {
	IntentID    string    `json:"intent_id"`
	Stage       string    `json:"stage"`
	First, Last time.Time `json:"-"`
	Events      int       `json:"events"`
}

// UnitRun is one consistency unit's execution (CONSISTENCY_UNIT_EXECUTED).
type UnitRun struct {
	IntentID string `json:"intent_id"`
	Unit     string `json:"unit"`
	Outcome  string `json:"outcome"`
	Attempt  int    `json:"attempt"`
}

// Operational is how the intents ran.
type Operational struct {
	Stages []StageTiming `json:"stages"`
	Units  []UnitRun     `json:"units"`
	// Retries counts unit attempts beyond the first.
	Retries int `json:"retries"`
}

// ComplianceEntry is one receipt that matters to an auditor.
type ComplianceEntry struct {
	ReceiptID string    `json:"receipt_id"`
	IntentID  string    `json:"intent_id"`
	EventType string    `json:"event_type"`
	Outcome   string    `json:"outcome"`
	Actor     string    `json:"actor"`
	At        time.Time `json:"at"`
	Detail    string    `json:"detail,omitempty"`
}

// Compliance is what was decided and on what grounds.
type Compliance struct {
	Decisions            []ComplianceEntry `json:"decisions"`
	Faults               []ComplianceEntry `json:"faults"`
	Approvals            []ComplianceEntry `json:"approvals"`
	PolicyBundleVersions []string          `json:"policy_bundle_versions"`
	ReceiptIDs           []string          `json:"receipt_ids"`
}

// decisionEvents are the events that decide (or end) something.
var decisionEvents = []string{EventPolicyApprove, EventPolicyReplan, EventPolicyBlock, EventMaxReplanExceeded,
	EventDecision, EventPromotionEvaluation, EventPanicRollback, EventPartialExecution}

// approvalEvents are the human answers and their refusals.
var approvalEvents = []string{EventConfirmationRequested, EventHumanApproved, EventHumanRejected,
	EventHumanEscalationTimeout, EventConfirmationCancelled, EventConfirmationRefused}

// faultOutcomes are outcomes that report a fault.
var faultOutcomes = []string{"blocked", "failed", "rejected", "refused", "quarantined", "rolled_back", "interrupted"}

// Views computes both views of receipts (in chain order).
func Views(receipts []Receipt) (Operational, Compliance) {
	op := Operational{Stages: []StageTiming{}, Units: []UnitRun{}}
	co := Compliance{Decisions: []ComplianceEntry{}, Faults: []ComplianceEntry{}, Approvals: []ComplianceEntry{},
		PolicyBundleVersions: []string{}, ReceiptIDs: make([]string, 0, len(receipts))}
	stageAt := map[[2]string]int{}
	for _, r := range receipts {
		c := r.Context
		intent, stage, typ, outcome := c[CtxIntentID], c[CtxStage], c[CtxEventType], c[CtxOutcome]
		co.ReceiptIDs = append(co.ReceiptIDs, r.ReceiptID)
		if v := c[CtxPolicyBundleVersion]; v != "" && !slices.Contains(co.PolicyBundleVersions, v) {
			co.PolicyBundleVersions = append(co.PolicyBundleVersions, v)
		}
		k := [2]string{intent, stage}
		if i, ok := stageAt[k]; ok {
			op.Stages[i].Last = r.Timestamp
			op.Stages[i].Events++
		} else {
			stageAt[k] = len(op.Stages)
			op.Stages = append(op.Stages, StageTiming{IntentID: intent, Stage: stage, First: r.Timestamp, Last: r.Timestamp, Events: 1})
		}
		var d struct {
			Unit          string   `json:"unit"`
			Attempts      int      `json:"attempts"`
			ErrorCode     string   `json:"error_code"`
			DecisionState string   `json:"decision_state"`
			Reason        string   `json:"reason"`
			Faults        []string `json:"faults"`
			Code          string   `json:"code"`
		}
		_ = json.Unmarshal([]byte(c[CtxDetails]), &d)
		entry := ComplianceEntry{ReceiptID: r.ReceiptID, IntentID: intent, EventType: typ, Outcome: outcome, Actor: r.Actor.ID, At: r.Timestamp}
		if typ == EventUnitExecuted {
			op.Units = append(op.Units, UnitRun{IntentID: intent, Unit: d.Unit, Outcome: outcome, Attempt: d.Attempts})
			if d.Attempts > 1 {
				op.Retries += d.Attempts - 1
			}
		}
		switch {
		case slices.Contains(decisionEvents, typ):
			entry.Detail = d.Reason
			if d.DecisionState != "" {
				entry.Detail = strings.TrimSpace(d.DecisionState + ": " + d.Reason)
			}
			co.Decisions = append(co.Decisions, entry)
		case slices.Contains(approvalEvents, typ):
			entry.Detail = d.Reason
			if d.Code != "" {
				entry.Detail = d.Code + ": " + d.Reason
			}
			co.Approvals = append(co.Approvals, entry)
		}
		if f := faultDetail(outcome, d.ErrorCode, d.Faults); f != "" {
			entry.Detail = f
			co.Faults = append(co.Faults, entry)
		}
	}
	return op, co
}

// faultDetail says what fault a receipt reports, "" when none.
func faultDetail(outcome, errorCode string, faults []string) string {
	switch {
	case len(faults) > 0:
		return strings.Join(faults, ", ")
	case errorCode != "":
		return errorCode
	case slices.Contains(faultOutcomes, outcome):
		return outcome
	}
	return ""
}

// SeqOf is a receipt's seq within its intent (0 when absent).
func SeqOf(r Receipt) int64 {
	n, _ := strconv.ParseInt(r.Context[CtxSeq], 10, 64)
	return n
}
