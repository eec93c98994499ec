// Package activities adapts the CFA domain packages and the Postgres store to
// Temporal activities. Each method is one stage of the governed flow; the
// logic lives in internal/*, the state in db.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// ErrInvalidInput marks errors that no retry can fix; workflows list it in
// RetryPolicy.NonRetryableErrorTypes.
const ErrInvalidInput = "InvalidInput"

// Activities holds the dependencies every stage needs.
type Activities struct {
	Store    *db.Store
	Catalog  *catalog.Catalog
	Bundle   *policy.Bundle
	Logger   *zap.Logger
	Notifier *Notifier
	// Temporal lets lock acquisition check whether a holder's workflow is
	// still running; nil disables recovery (workflow unit tests).
	Temporal client.Client
	// Execution tunes the sandbox (statement timeout, runtime limits).
	Execution ExecutionConfig
}

func invalid(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, err)
}

func (a *Activities) log(intentID, stage string) *zap.Logger {
	return a.Logger.With(zap.String("intent_id", intentID), zap.String("stage", stage))
}

// AuditInput is one event and its stage details, encoded here rather than
// in workflow code (encoding/json is not workflow-safe).
type AuditInput struct {
	Event   audit.Event `json:"event"`
	Details any         `json:"details,omitempty"`
}

// RecordAudit appends one event to the audit trail. IntentID+Seq is the
// idempotency key, so a retry returns the receipt already stored.
func (a *Activities) RecordAudit(ctx context.Context, in AuditInput) (AuditAck, error) {
	e := in.Event
	if in.Details != nil {
		b, err := json.Marshal(in.Details)
		if err != nil {
			return AuditAck{}, invalid(fmt.Errorf("encode details of %s: %w", e.EventType, err))
		}
		e.Details = b
	}
	r, err := a.Store.AppendAudit(ctx, e)
	if errors.Is(err, audit.ErrInvalidEvent) {
		// No retry can make an invalid event valid.
		return AuditAck{}, invalid(fmt.Errorf("record audit event %s #%d for intent %s: %w", e.EventType, e.Seq, e.IntentID, err))
	}
	if err != nil {
		return AuditAck{}, fmt.Errorf("record audit event %s #%d for intent %s: %w", e.EventType, e.Seq, e.IntentID, err)
	}
	return AuditAck{ReceiptID: r.ReceiptID, Position: r.Position}, nil
}

// AuditAck identifies a stored receipt.
type AuditAck struct {
	ReceiptID string `json:"receipt_id"`
	Position  int64  `json:"position"`
}

// TrackInput is the intents-index row; a structured signature is stored
// as its JSON.
type TrackInput struct {
	Intent    db.Intent            `json:"intent"`
	Signature *signature.Signature `json:"signature,omitempty"`
}

// TrackIntent upserts the intent's row in the intents index (for `list`).
func (a *Activities) TrackIntent(ctx context.Context, in TrackInput) error {
	rec := in.Intent
	if in.Signature != nil {
		b, err := json.Marshal(in.Signature)
		if err != nil {
			return invalid(fmt.Errorf("encode signature of intent %s: %w", rec.IntentID, err))
		}
		rec.Source, rec.Input = db.SourceSignature, string(b)
	}
	if _, err := a.Store.UpsertIntent(ctx, rec); err != nil {
		return fmt.Errorf("track intent %s: %w", rec.IntentID, err)
	}
	return nil
}

// Consultation is what step 2 reads: the registry snapshot and the versions
// of the catalog and policy bundle in force (the execution_context).
type Consultation struct {
	Environment            registry.EnvironmentState `json:"environment"`
	CatalogSnapshotVersion string                    `json:"catalog_snapshot_version"`
	PolicyBundleVersion    string                    `json:"policy_bundle_version"`
	MaxReplanAttempts      int                       `json:"max_replan_attempts"`
}

// ConsultRegistry reads latest_committed_before_intent_resolution (I3).
func (a *Activities) ConsultRegistry(ctx context.Context) (Consultation, error) {
	env, err := a.Store.LatestSnapshot(ctx)
	if err != nil {
		return Consultation{}, fmt.Errorf("consult context registry: %w", err)
	}
	return Consultation{
		Environment:            env,
		CatalogSnapshotVersion: a.Catalog.SnapshotVersion,
		PolicyBundleVersion:    a.Bundle.Version,
		MaxReplanAttempts:      a.Bundle.MaxReplanAttempts,
	}, nil
}

// NormalizeInput is the Normalizer's input: text or a structured signature.
type NormalizeInput struct {
	IntentID    string                    `json:"intent_id"`
	Text        string                    `json:"text,omitempty"`
	Signature   *signature.Signature      `json:"signature,omitempty"`
	Environment registry.EnvironmentState `json:"environment"`
}

// Normalize runs the Intent Normalizer + Semantic Resolution (step 4).
func (a *Activities) Normalize(_ context.Context, in NormalizeInput) (resolution.SemanticResolution, error) {
	var res resolution.SemanticResolution
	switch {
	case in.Signature != nil && in.Text != "":
		return res, invalid(errors.New("normalize: give either text or a structured signature, not both"))
	case in.Signature != nil:
		res = resolution.ResolveStructured(*in.Signature, a.Catalog, in.Environment)
	default:
		res = resolution.Resolve(in.Text, a.Catalog, in.Environment)
	}
	a.log(in.IntentID, "intent_normalizer").Info("semantic resolution",
		zap.Bool("resolved", res.Resolved), zap.Float64("confidence_score", res.ConfidenceScore),
		zap.String("confirmation_mode", string(res.ConfirmationMode)), zap.String("reason", res.Reason))
	return res, nil
}

// SignInput binds a signature to its execution_context.
type SignInput struct {
	Signature        signature.Signature        `json:"signature"`
	ExecutionContext signature.ExecutionContext `json:"execution_context"`
}

// Signed is a State Signature with its intent_signature_hash.
type Signed struct {
	Signature signature.Signature `json:"signature"`
	Hash      string              `json:"intent_signature_hash"`
}

// Sign generates the State Signature with execution_context (step 6).
func (a *Activities) Sign(_ context.Context, in SignInput) (Signed, error) {
	s := in.Signature.Canonical()
	s.ExecutionContext = in.ExecutionContext
	h, err := s.Hash()
	if err != nil {
		return Signed{}, invalid(err)
	}
	return Signed{Signature: s, Hash: h}, nil
}

// Decide runs the Decision Engine (step 17).
func (a *Activities) Decide(_ context.Context, in decision.Input) (decision.Decision, error) {
	d, err := decision.Decide(in)
	if err != nil {
		return d, invalid(err)
	}
	return d, nil
}

// Noop does nothing; BareWorkflow uses it as the latency baseline.
func (a *Activities) Noop(context.Context) error { return nil }
