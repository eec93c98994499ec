package extension

import (
	"context"
	"io"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/precost"
)

// Points are one deployment's extension points. A nil field (or an empty
// list) is the shipped behaviour; WithDefaults fills them in.
type Points struct {
	// intent_normalizer
	DomainResolvers   []DomainResolver
	CatalogEnrichment CatalogEnrichmentHook
	ConfidenceScorer  ConfidenceScorer
	// policy_engine
	RuleProviders        []RuleProvider
	ComplianceValidators []ComplianceValidator
	// execution_planner
	Templates     Templates
	CostEstimator CostEstimator
	// context_registry
	Snapshots SnapshotProvider
	Registry  RegistryStorage
	// promotion_engine
	PromotionSignals []PromotionSignal
	Windows          WindowProvider
	// audit_trail
	Audit AuditStorage
	// WrapAudit, when set, wraps the audit storage in force (Audit, or the
	// shipped Postgres store): a backend that writes beside the chain, such
	// as a JSONL or Kafka mirror, wraps the default instead of replacing it.
	WrapAudit  func(AuditStorage) AuditStorage
	Formatters []RegulatoryFormatter
}

// WithDefaults returns p with every unset single point set to the shipped
// implementation: the Postgres store for the registry and the audit trail,
// the Postgres and dbt backends, the history-weighted cost model, the
// whitepaper's windows and the JSONL export.
func (p Points) WithDefaults(store *db.Store) Points {
	if p.Templates == nil {
		p.Templates = ShippedTemplates{}
	}
	if p.CostEstimator == nil {
		p.CostEstimator = ShippedCostEstimator{}
	}
	if p.Snapshots == nil {
		p.Snapshots = store
	}
	if p.Registry == nil {
		p.Registry = store
	}
	if p.Windows == nil {
		p.Windows = ShippedWindows{}
	}
	if p.Audit == nil {
		p.Audit = store
	}
	if p.WrapAudit != nil {
		p.Audit, p.WrapAudit = p.WrapAudit(p.Audit), nil
	}
	if len(p.Formatters) == 0 {
		p.Formatters = []RegulatoryFormatter{JSONL{}}
	}
	return p
}

// ShippedTemplates are the shipped backends: Postgres (what runs) and dbt.
type ShippedTemplates struct{}

// Backends returns Postgres and dbt.
func (ShippedTemplates) Backends() []Backend { return []Backend{codegen.Postgres{}, codegen.DBT{}} }

// ShippedCostEstimator is the whitepaper's model: catalog sizes weighted by
// the history of the same intent shape (rolling_weighted_average).
type ShippedCostEstimator struct{}

// Name is "cfa_history_weighted".
func (ShippedCostEstimator) Name() string { return "cfa_history_weighted" }

// Estimate runs precost.EstimateCost.
func (ShippedCostEstimator) Estimate(_ context.Context, in CostInput) (CostEstimate, error) {
	return precost.EstimateCost(in)
}

// ShippedWindows keeps the whitepaper's evaluation_window by domain.
type ShippedWindows struct{}

// Window returns "": the lifecycle policy's own window.
func (ShippedWindows) Window(context.Context, string) (string, error) { return "", nil }

// JSONL is the shipped export: one receipt per line, what `cfa audit
// verify --file` reads.
type JSONL struct{}

// Name is "jsonl".
func (JSONL) Name() string { return "jsonl" }

// Format writes the receipts as JSON lines.
func (JSONL) Format(w io.Writer, receipts []Receipt) error { return audit.WriteJSONL(w, receipts) }
