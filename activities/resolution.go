package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/bounds"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/concurrency"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/projection"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/ttl"
)

// ReceiveInput is step 1: the intent as submitted and its row in the
// intents index (status running).
type ReceiveInput struct {
	Request intent.Request `json:"request"`
	Index   db.Intent      `json:"index"`
}

// Receive is step 1: the intent enters the intents index and the audit
// trail (INTENT_RECEIVED, by its submitter).
func (a *Activities) Receive(ctx context.Context, st Step, in ReceiveInput) (Stage, error) {
	row := in.Index
	row.Source, row.Input = db.SourceText, in.Request.Text
	if sig := in.Request.Signature; sig != nil {
		b, err := json.Marshal(sig)
		if err != nil {
			return Stage{}, invalid(fmt.Errorf("encode signature of intent %s: %w", st.IntentID, err))
		}
		row.Source, row.Input = db.SourceSignature, string(b)
	}
	if _, err := a.Store.UpsertIntent(ctx, row); err != nil {
		return Stage{}, fmt.Errorf("track intent %s: %w", st.IntentID, err)
	}
	t := newTrail(st)
	t.addBy(SubmitterOf(in.Request.SubmittedBy, in.Request.SubmitterType, in.Request.SubmitterAuthContext), intent.StageReceived, "received", audit.ActionInvoke, nil, events.IntentReceived{Request: in.Request})
	out := Stage{Summary: "intent received"}
	// The first stage that sees the request checks every number and date
	// it carries (signature, plan, options): a client that bypassed the CLI
	// gets a blocked intent that names the field, never a failed workflow.
	if err := bounds.Request(in.Request); err != nil {
		v := bounds.Vote(err)
		out.Summary = "blocked: " + v.Reason
		out.stop(v)
		a.log(st.IntentID, intent.StageReceived).Info("intent out of bounds", zap.String("reason", v.Reason))
	}
	return out, a.finish(ctx, t, &out)
}

// Submitter is the principal who submitted an intent.
func Submitter(by string) audit.Principal { return SubmitterOf(by, "", "") }

// SubmitterOf is the submitter's principal with the type and auth context
// the API authenticated (empty: a HUMAN on the CLI).
func SubmitterOf(by, typ, authContext string) audit.Principal {
	return principal(by, "anonymous", typ, authContext, "cli")
}

// principal is a caller's CFS Principal: a HUMAN unless the API said
// otherwise, with the defaults of the path it came by.
func principal(id, defaultID, typ, authContext, defaultAuth string) audit.Principal {
	p := audit.Principal{ID: id, Type: audit.PrincipalHuman, AuthContext: authContext}
	if p.ID == "" {
		p.ID = defaultID
	}
	if typ != "" {
		p.Type = audit.PrincipalType(typ)
	}
	if p.AuthContext == "" {
		p.AuthContext = defaultAuth
	}
	return p
}

// Consultation is what step 2 read: the registry snapshot and the versions
// of the catalog and policy bundle in force (the execution_context). The
// snapshot itself is read again by version_id where a stage needs it.
type Consultation struct {
	RegistryVersionID      string `json:"registry_version_id"`
	CatalogSnapshotVersion string `json:"catalog_snapshot_version"`
	PolicyBundleVersion    string `json:"policy_bundle_version"`
	MaxReplanAttempts      int    `json:"max_replan_attempts"`
}

// ExecutionContext is the consultation as a signature's execution_context.
func (c Consultation) ExecutionContext() signature.ExecutionContext {
	return signature.ExecutionContext{PolicyBundleVersion: c.PolicyBundleVersion, CatalogSnapshotVersion: c.CatalogSnapshotVersion, RegistryVersionID: c.RegistryVersionID}
}

// Consulted is step 2's outcome.
type Consulted struct {
	Stage
	Consultation
}

// ConsultRegistry is step 2: latest_committed_before_intent_resolution (I3).
func (a *Activities) ConsultRegistry(ctx context.Context, st Step) (Consulted, error) {
	env, err := a.Extensions.Snapshots.LatestSnapshot(ctx)
	if err != nil {
		return Consulted{}, fmt.Errorf("consult context registry for intent %s: %w", st.IntentID, err)
	}
	c := Consultation{
		RegistryVersionID: env.VersionID, CatalogSnapshotVersion: a.Catalog.SnapshotVersion,
		PolicyBundleVersion: a.Bundle.Version, MaxReplanAttempts: a.Bundle.MaxReplanAttempts,
	}
	st.PolicyBundleVersion = c.PolicyBundleVersion
	t := newTrail(st)
	t.add(intent.StageRegistry, "consulted", audit.ActionRead, []string{"context_registry:" + env.VersionID}, events.EnvironmentConsulted{
		Environment: env, CatalogSnapshotVersion: c.CatalogSnapshotVersion, PolicyBundleVersion: c.PolicyBundleVersion, MaxReplanAttempts: c.MaxReplanAttempts,
	})
	out := Consulted{Stage: Stage{Summary: "registry snapshot " + env.VersionID}, Consultation: c}
	return out, a.finish(ctx, t, &out.Stage)
}

// NormalizeInput is step 4's input: text or a structured signature, the
// snapshot consulted at step 2, and the intent's cost_ceiling_dbu (0: the
// default), against which the resolved signature's estimated cost is
// weighed (the cost triggers of 5.1 and 5.1b, docs/adr/0134).
type NormalizeInput struct {
	Text              string               `json:"text,omitempty"`
	Signature         *signature.Signature `json:"signature,omitempty"`
	RegistryVersionID string               `json:"registry_version_id"`
	CostCeilingDBU    float64              `json:"cost_ceiling_dbu,omitempty"`
}

// Normalized is step 4's outcome.
type Normalized struct {
	Stage
	Resolution resolution.SemanticResolution `json:"semantic_resolution"`
}

// Normalize runs the Intent Normalizer + Semantic Resolution (step 4), with
// its extension points: custom domain resolvers, catalog enrichment and a
// confidence scorer. An intent it cannot resolve is blocked, not guessed.
func (a *Activities) Normalize(ctx context.Context, st Step, in NormalizeInput) (Normalized, error) {
	if in.Signature != nil && in.Text != "" {
		return Normalized{}, invalid(errors.New("normalize: give either text or a structured signature, not both"))
	}
	env, err := a.snapshot(ctx, in.RegistryVersionID)
	if err != nil {
		return Normalized{}, fmt.Errorf("normalize intent %s: %w", st.IntentID, err)
	}
	k, err := kernel.Normalize(ctx, kernel.NormalizeInput{Text: in.Text, Signature: in.Signature,
		Cost: resolution.CostInput{Now: st.At, CostCeilingDBU: in.CostCeilingDBU}}, a.Catalog, env, normalizer{a.Extensions})
	if err != nil {
		return Normalized{}, kernelError(fmt.Errorf("normalize intent %s: %w", st.IntentID, err))
	}
	res, rec := k.Resolution, k.Record
	t := newTrail(st)
	t.add(intent.StageNormalizer, k.Outcome, audit.ActionInvoke, datasetTargets(res.Signature.DatasetNames()), rec)
	out := Normalized{Resolution: res, Stage: Stage{Summary: fmt.Sprintf("confidence %.2f, ambiguity %s, mode %s", res.ConfidenceScore, res.AmbiguityLevel, res.ConfirmationMode)}}
	if res.CostCeilingDBU > 0 {
		out.Summary += fmt.Sprintf(", estimated %.2f DBU of a %.0f DBU ceiling", res.EstimatedCostDBU, res.CostCeilingDBU)
	}
	switch {
	case k.Stop != nil && k.Outcome == "unresolved":
		out.Summary = "unresolved: " + res.Reason
		out.stop(*k.Stop)
	case k.Stop != nil:
		out.Summary = "blocked: " + k.Stop.Reason
		out.stop(*k.Stop)
	}
	a.log(st.IntentID, intent.StageNormalizer).Info("semantic resolution",
		zap.Bool("resolved", res.Resolved), zap.Float64("confidence_score", res.ConfidenceScore),
		zap.String("confirmation_mode", string(res.ConfirmationMode)), zap.Float64("estimated_cost_dbu", res.EstimatedCostDBU),
		zap.String("resolver", rec.Resolver), zap.String("reason", res.Reason))
	return out, a.finish(ctx, t, &out.Stage)
}

// normalizer answers the intent_normalizer's extension points for the
// kernel: the custom domain resolvers in order, the enrichment hook and
// the confidence scorer in force.
type normalizer struct{ ext extension.Points }

func (n normalizer) Resolve(ctx context.Context, text string, cat *catalog.Catalog, env registry.EnvironmentState) (string, *kernel.Draft, error) {
	for _, r := range n.ext.DomainResolvers {
		draft, err := r.Resolve(ctx, text, cat, env.Clone())
		if err != nil {
			return r.Name(), nil, err
		}
		if draft != nil {
			return r.Name(), &kernel.Draft{Signature: draft.Signature, Confidence: draft.Confidence, Competing: draft.Competing}, nil
		}
	}
	return "", nil, nil
}

func (n normalizer) Enrich(ctx context.Context, sig signature.Signature, cat *catalog.Catalog) (signature.Signature, bool, error) {
	if n.ext.CatalogEnrichment == nil {
		return signature.Signature{}, false, nil
	}
	out, err := n.ext.CatalogEnrichment.Enrich(ctx, sig, cat)
	return out, true, err
}

func (n normalizer) Score(ctx context.Context, res resolution.SemanticResolution) (float64, bool, error) {
	if n.ext.ConfidenceScorer == nil {
		return 0, false, nil
	}
	score, err := n.ext.ConfidenceScorer.Score(ctx, res)
	return score, true, err
}

// ScopeCheckInput is step 3: the resolved signature, the snapshot it was
// resolved against and the run's conflict_resolution.
type ScopeCheckInput struct {
	Signature         signature.Signature `json:"signature"`
	RegistryVersionID string              `json:"registry_version_id"`
	OnConflict        string              `json:"on_conflict,omitempty"`
	// DryRun runs nothing, so it takes no scope: only the TTL policy applies.
	DryRun bool `json:"dry_run,omitempty"`
}

// CheckScope is step 3, where the whitepaper puts the lock check; it runs
// after step 4 because the target is known only once the intent is
// resolved. In order: I4 (a failed projection on any dataset the intent
// touches blocks it), the lock check (with conflict_resolution reject a
// busy scope blocks before anyone is asked to confirm; with queue the
// intent waits at step 11), and the TTL policy (a dataset whose expired
// quarantine awaits manual review blocks the intents that depend on it).
func (a *Activities) CheckScope(ctx context.Context, st Step, in ScopeCheckInput) (Stage, error) {
	out := Stage{}
	t := newTrail(st)
	names := in.Signature.DatasetNames()
	if !in.DryRun {
		gate, err := a.certain(ctx, st.IntentID, scopeKeysOf(names))
		if err != nil {
			return out, err
		}
		if v := gate.Violation(); v != nil {
			out.Summary = "environment_state_uncertain: the projection of " + gate.Blockers() + " failed"
			out.veto(*v)
			return out, nil
		}
		var targets []string
		for _, d := range in.Signature.Targets() {
			targets = append(targets, d.Name)
		}
		if len(targets) > 0 {
			holders, err := a.holders(ctx, st.IntentID, targets)
			if err != nil {
				return out, err
			}
			mode := in.OnConflict
			if mode == "" {
				mode = db.OnConflictQueue
			}
			outcome := "free"
			if len(holders) > 0 {
				outcome = "busy"
			}
			t.add(intent.StageLock, outcome, audit.ActionRead, datasetTargets(names), events.ScopeCheck{
				Datasets: targets, HeldOrQueuedBy: holders, ConflictResolution: mode,
			})
			switch {
			case len(holders) == 0:
				out.Summary = "lock check: target scope free"
			case mode == db.OnConflictReject:
				v := concurrency.ConflictVote(holders)
				out.Summary = "lock check: " + v.Reason
				out.stop(v)
				return out, a.finish(ctx, t, &out)
			default:
				out.Summary = "lock check: busy, will queue behind " + strings.Join(holders, ", ")
			}
		}
	}
	chk, err := a.checkTTL(ctx, in.RegistryVersionID, names, st)
	if err != nil {
		return out, err
	}
	if v := chk.Vote(); v != nil {
		out.Summary = "blocked: " + v.Reason
		out.stop(*v)
	}
	return out, a.finish(ctx, t, &out)
}

// holders lists the other intents that hold or wait for the datasets.
func (a *Activities) holders(ctx context.Context, intentID string, datasets []string) ([]string, error) {
	active, err := a.Store.ActiveLocks(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock check of intent %s: %w", intentID, err)
	}
	var out []string
	for _, h := range active {
		if h.IntentID != intentID && slices.Contains(datasets, h.Scope.Dataset) && !slices.Contains(out, h.IntentID) {
			out = append(out, h.IntentID)
		}
	}
	return out, nil
}

// checkTTL applies the TTL policy to a new intent's datasets.
func (a *Activities) checkTTL(ctx context.Context, registryVersionID string, datasets []string, st Step) (ttl.IntentCheck, error) {
	env, err := a.snapshot(ctx, registryVersionID)
	if err != nil {
		return ttl.IntentCheck{}, fmt.Errorf("TTL check of intent %s: %w", st.IntentID, err)
	}
	recorded, err := a.Store.ReviewedEscalations(ctx, datasets)
	if err != nil {
		return ttl.IntentCheck{}, fmt.Errorf("TTL check of intent %s: %w", st.IntentID, err)
	}
	reviewed := make([]ttl.Escalation, 0, len(recorded))
	for _, e := range recorded {
		reviewed = append(reviewed, ttl.Escalation{Dataset: e.Dataset, Since: e.Since})
	}
	out, err := ttl.CheckIntent(env, datasets, st.At, reviewed, ttl.Default())
	if err != nil {
		return out, invalid(err)
	}
	return out, nil
}

// certain applies I4 to an intent on scopes (concurrency.Scope keys).
func (a *Activities) certain(ctx context.Context, intentID string, scopes []string) (projection.Gate, error) {
	open, err := a.Extensions.Registry.OpenProjectionFailures(ctx)
	if err != nil {
		return projection.Gate{}, fmt.Errorf("I4 check of intent %s: %w", intentID, err)
	}
	mine, err := parseScopes(scopes)
	if err != nil {
		return projection.Gate{}, invalid(err)
	}
	failed := make([]projection.FailedProjection, 0, len(open))
	for _, f := range open {
		fs, err := parseScopes(f.Scopes)
		if err != nil {
			return projection.Gate{}, fmt.Errorf("failed projection of intent %s: %w", f.IntentID, err)
		}
		failed = append(failed, projection.FailedProjection{IntentID: f.IntentID, Scopes: fs, ParentVersionID: f.ParentVersionID, FailedAt: f.FailedAt, Cause: f.Cause})
	}
	return projection.CheckCertain(intentID, mine, failed), nil
}

func scopeKeysOf(datasets []string) []string {
	out := make([]string, len(datasets))
	for i, d := range datasets {
		out[i] = concurrency.Scope{Dataset: d}.Key()
	}
	return out
}

func parseScopes(keys []string) ([]concurrency.Scope, error) {
	out := make([]concurrency.Scope, 0, len(keys))
	for _, k := range keys {
		s, err := concurrency.ParseScope(k)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
