// Whitepaper 5.14 Decision Engine:
//
//	decision_precedence:
//	  veto_absolute: [invariants]   # a violation cancels everything
//	  ordered_authority: [policy_engine, runtime_validation, partial_failure_policy]
//	decision_engine:
//	  conflict_resolution:
//	    strategy: strictest_outcome
//	    # severity ordering: blocked > quarantined > rolled_back > partially_committed
//	    # > approved_with_warnings > approved
package decision
