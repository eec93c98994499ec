package audit

import "strconv"

// ReceiptID is the receipt_id Seal gives an intent's event: "<intent_id>/<seq>".
func ReceiptID(intentID string, seq int64) string { return intentID + "/" + strconv.FormatInt(seq, 10) }

// StoredContext returns the context Seal gives e's receipt without its
// position, which only the chain head decides, and e's canonical details:
// what a store that finishes the seal itself (db audit_append) records.
func StoredContext(e Event) (map[string]string, string, error) {
	details, err := CanonicalDetails(e.Details)
	if err != nil {
		return nil, "", err
	}
	m := map[string]string{
		CtxIntentID:            e.IntentID,
		CtxSeq:                 strconv.FormatInt(e.Seq, 10),
		CtxCorrelationID:       e.CorrelationID,
		CtxPolicyBundleVersion: e.PolicyBundleVersion,
		CtxStage:               e.Stage,
		CtxEventType:           e.EventType,
		CtxOutcome:             e.Outcome,
		CtxDetails:             details,
	}
	if e.TraceID != "" {
		m[CtxTraceID] = e.TraceID
	}
	return m, details, nil
}
