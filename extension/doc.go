// Package extension declares the extension points of CFA v2 (whitepaper
// section 9): interface contracts through which a deployment injects domain
// behaviour without modifying the core.
//
//	extension_points:
//	  intent_normalizer:   custom_domain_resolver, catalog_enrichment_hook, confidence_scorer_override
//	  policy_engine:       custom_rule_provider, external_compliance_validator
//	  execution_planner:   custom_template_library, pre_cost_estimator_backend
//	  context_registry:    storage_backend, snapshot_provider
//	  promotion_engine:    custom_promotion_signal, domain_window_provider
//	  audit_trail:         storage_backend, regulatory_formatter
//
// Each interface says what CFA gives it, what it must return, and what the
// core still guarantees around it. A Points value gathers one deployment's
// implementations; a nil field is the shipped behaviour. The worker is
// wired from one Points (internal/app.NewWorker); a custom worker binary
// builds its Points and calls worker.Run (see examples/extensions).
//
// A plug-in gets copies of signatures and snapshots, which it may change;
// the catalog it gets is the one in force, shared, which it must only read.
// Whatever a plug-in returns, the core keeps its invariants: every intent is
// still signed with its execution_context, governed by the policy bundle,
// statically validated, executed under a scope lock and audited (I1–I8); a
// plug-in's name and raw answer are recorded in the audit trail so the
// intent can be replayed without it.
package extension
