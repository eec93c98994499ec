package extension

import "context"

// PromotionSignal is promotion_engine.custom_promotion_signal: an external
// business-value signal on a skill's execution.
//
// CFA gives it the execution's evidence (intent, promotion unit, domain,
// decision, units, cost, duration); it returns a value and whether it
// vetoes promotion, with a reason.
//
// The core records every signal with the evaluation (PROMOTION_EVALUATION).
// A veto keeps an execution from being labelled promotion_candidate; no
// signal can promote an execution the gate refuses (IFo, IFs, IFg and the
// minimum executions still decide).
type PromotionSignal interface {
	Name() string
	Signal(ctx context.Context, ex Execution) (value float64, veto bool, reason string, err error)
}

// WindowProvider is promotion_engine.domain_window_provider: the
// evaluation_window of a domain.
//
// CFA gives it the domain of the signature; it returns a window named like
// the whitepaper's (last_N_days), or "" for the shipped one (fiscal:
// last_3_days, master_data: last_30_days, else last_7_days).
//
// The core evaluates the skill over that window and records its name.
type WindowProvider interface {
	Window(ctx context.Context, domain string) (string, error)
}
