package policy

import (
	"errors"
	"fmt"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// ReasonReplanIneffective: the interventions asked for leave the signature
// as it was, so replanning again could never satisfy the requester.
const ReasonReplanIneffective = "replan_ineffective"

// ReplanWith applies interventions that a stage after the Policy Engine asks
// for (the Pre-cost Estimator's force_replan_with_filter), as one replan
// counted against MaxReplanAttempts, then governs the new signature with
// the bundle. cause is the requester's fault (PRE_COST_CEILING_EXCEEDED);
// it is reported when the replan cannot be made. The outcome is a
// Governance like Govern's: blocked at the limit, when an intervention
// fails, or when it changes nothing (a signature bounded by explicit dates
// is not narrowed by add_temporal_filter, docs/adr/0023), which would
// otherwise loop until the limit.
func ReplanWith(sig signature.Signature, ivs []Intervention, cause fault.Fault, env registry.EnvironmentState, cat *catalog.Catalog, b *Bundle) (Governance, error) {
	return replanWith(sig, ivs, cause, env, cat, b, false)
}

// ProposeWith is ReplanWith in propose mode: the replanned signature is
// returned as Final with decision replanned, ungoverned, for a new cycle.
// The same limit, failure and no-change checks block first.
func ProposeWith(sig signature.Signature, ivs []Intervention, cause fault.Fault, env registry.EnvironmentState, cat *catalog.Catalog, b *Bundle) (Governance, error) {
	return replanWith(sig, ivs, cause, env, cat, b, true)
}

func replanWith(sig signature.Signature, ivs []Intervention, cause fault.Fault, env registry.EnvironmentState, cat *catalog.Catalog, b *Bundle, propose bool) (Governance, error) {
	if b == nil {
		return Governance{}, errors.New("replan intent: policy bundle is nil; load it with policy.Default or policy.Load")
	}
	hash, err := sig.Hash()
	if err != nil {
		return Governance{}, fmt.Errorf("replan intent %q: %w", sig.Intent, err)
	}
	g := Governance{BundleVersion: b.Version, Final: sig, FinalHash: hash}
	if sig.Replan >= b.MaxReplanAttempts {
		f := cause
		f.Code, f.MandatoryAction, f.Severity = fault.CodeMaxReplanAttemptsExceeded, MandatoryBlock, fault.SeverityHigh
		f.Message = fmt.Sprintf("%s needs replan %d, the limit is %d: %s", cause.Code, sig.Replan+1, b.MaxReplanAttempts, cause.Message)
		return g.block(ReasonMaxReplanAttemptsExceeded, []fault.Fault{f}), nil
	}
	next, err := Apply(sig, ivs, cat)
	if err != nil {
		f := cause
		f.MandatoryAction, f.Severity, f.Message = MandatoryBlock, fault.SeverityCritical, err.Error()
		var ie *InterventionError
		if errors.As(err, &ie) {
			f.Remediation = []string{ie.Remediation}
		}
		return g.block(ReasonInterventionFailed, []fault.Fault{f}), nil
	}
	same := next
	same.Replan = sig.Replan
	if sameHash, err := same.Hash(); err == nil && sameHash == hash {
		f := cause
		f.MandatoryAction, f.Severity = MandatoryBlock, fault.SeverityHigh
		f.Message = fmt.Sprintf("the interventions %v leave the signature unchanged: %s", ivs, cause.Message)
		f.Remediation = append([]string{"narrow the explicit date range of the intent's temporal filter"}, cause.Remediation...)
		return g.block(ReasonReplanIneffective, []fault.Fault{f}), nil
	}
	if propose {
		nextHash, err := next.Hash()
		if err != nil {
			return Governance{}, fmt.Errorf("replan intent %q: hash the replanned signature: %w", sig.Intent, err)
		}
		g.Decision, g.Reason, g.Faults = decision.Replanned, ReasonReplanProposed, []fault.Fault{cause}
		g.Final, g.FinalHash = next, nextHash
		return g, nil
	}
	g, err = Govern(next, env, cat, b)
	if err == nil && len(g.Attempts) > 0 {
		g.Attempts[0].Replanned = requestedReplanning(sig, next, cause)
	}
	return g, err
}
