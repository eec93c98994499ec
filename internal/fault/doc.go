// Whitepaper 5.13 Fault Model:
//
//	"Errors in CFA are not exceptions. They are governed events. Each family
//	has a detection point and a defined owner."
//
//	error_signature:
//	  code: FINOPS_UNBOUNDED_SCAN
//	  family: semantic_faults
//	  severity: high
//	  stage: policy_engine
//	  detected_before_execution: true
//	  mandatory_action: replan_or_block
//	  remediation: ["Apply a temporal filter on processing_date"]
package fault
