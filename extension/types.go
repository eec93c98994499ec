package extension

import (
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// The types the extension points exchange, named here so a plug-in in
// another module can implement them.
type (
	// Signature is the State Signature (whitepaper 5.2).
	Signature = signature.Signature
	// SignatureDataset is one dataset of a signature.
	SignatureDataset = signature.Dataset
	// SemanticResolution is the Intent Normalizer's output (5.1).
	SemanticResolution = resolution.SemanticResolution
	// Catalog is the data catalog.
	Catalog = catalog.Catalog
	// Dataset is one catalog dataset.
	Dataset = catalog.Dataset
	// EnvironmentState is one Context Registry snapshot (5.9).
	EnvironmentState = registry.EnvironmentState
	// Fault is an error_signature (5.13).
	Fault = fault.Fault
	// ExecutionPlan is the Execution Planner's plan (5.5).
	ExecutionPlan = planner.ExecutionPlan
	// Backend renders a plan into code (custom_template_library).
	Backend = codegen.Backend
	// Artifact is one backend's generated code.
	Artifact = codegen.Artifact
	// CostInput is what a pre_cost_estimator_backend is given.
	CostInput = precost.Input
	// CostEstimate is what it returns (5.5 pre_cost_estimator outputs).
	CostEstimate = precost.Estimate
	// Execution is one execution's evidence for the Promotion Engine.
	Execution = lifecycle.Execution
	// Event is an audit event before it is sealed.
	Event = audit.Event
	// Receipt is a sealed audit event (a CFS Receipt).
	Receipt = audit.Receipt
)

// Fault families, severities and stages a plug-in's faults use.
type (
	FaultFamily = fault.Family
	Severity    = fault.Severity
	FaultStage  = fault.Stage
)

// The closed sets of the fault model (whitepaper 5.13).
const (
	SemanticFaults          = fault.SemanticFaults
	StaticSafetyFaults      = fault.StaticSafetyFaults
	RuntimeBehavioralFaults = fault.RuntimeBehavioralFaults
	EnvironmentalFaults     = fault.EnvironmentalFaults

	SeverityLow      = fault.SeverityLow
	SeverityMedium   = fault.SeverityMedium
	SeverityHigh     = fault.SeverityHigh
	SeverityCritical = fault.SeverityCritical

	StagePolicyEngine     = fault.StagePolicyEngine
	StageIntentNormalizer = fault.StageIntentNormalizer
)

// Sealing and checking the audit chain, for an AuditStorage that keeps the
// chain itself and for readers of an export.
var (
	// Seal turns an event into the receipt at a chain position, linked to
	// the integrity of the receipt before it.
	Seal = audit.Seal
	// GenesisPrevHash is the prev_hash of the receipt at position 1.
	GenesisPrevHash = audit.GenesisPrevHash
	// Verify checks a chain of receipts: integrity, links, positions.
	Verify = audit.Verify
	// ReadJSONL reads a JSONL export.
	ReadJSONL = audit.ReadJSONL
)

// Keys of Receipt.Context.
const (
	ContextIntentID  = audit.CtxIntentID
	ContextSeq       = audit.CtxSeq
	ContextEventType = audit.CtxEventType
	ContextStage     = audit.CtxStage
	ContextOutcome   = audit.CtxOutcome
	ContextDetails   = audit.CtxDetails
)
