// Whitepaper 5.1b Confirmation Orchestrator:
//
//	"It does not add friction in 90% of cases. In the 10% where risk is
//	real — PII, ambiguity, writes to critical layers — it is mandatory."
//
//	escalation_triggers:
//	  - confidence_score < 0.65 AND contains_pii == true
//	  - competing_interpretations > 1
//	  - silver_write AND context_registry.publish_allowed == false
//	  - gold_write # always escalated
//	  - estimated_cost > cost_ceiling_dbu * 0.8
//	human_timeout_seconds: 300
//
// and the 5.1 Confirmation Modes table (auto: high confidence, low risk, no
// PII; soft: medium confidence, read intent; hard_required: PII detected,
// write to Silver/Gold, high estimated cost, relevant semantic ambiguity,
// multiple compatible datasets).
//
// Evaluate is a pure function: each trigger carries the mode it demands and
// the strictest fired mode wins. docs/adr/0013 records which trigger gives
// which mode and the thresholds the whitepaper leaves open; docs/adr/0134
// the conflicts that turn soft into hard_required and the cost estimated at
// normalization; docs/adr/0135 an approver's choice of an interpretation.
package confirmation
