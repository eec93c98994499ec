package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/bounds"
	"github.com/contextualflux/cfa/internal/concurrency"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// Steps 1 to 5: the intent received, the registry consulted, its
// resolution, the lock check and the human confirmation.

func (r *run) receive() error {
	e, ok := r.peek()
	if !ok || e.Type != audit.EventIntentReceived {
		return r.refuse("the trail does not start with INTENT_RECEIVED: it is not an intent's trail")
	}
	r.pos++
	var keys map[string]json.RawMessage
	if err := e.decode(&keys); err != nil {
		return err
	}
	if _, composite := keys["intent_graph"]; composite {
		return r.refuse(fmt.Sprintf("%s is a composite intent: replay each of its sub-intents (%s.<sub_intent>), which are intents", r.rec.IntentID, r.rec.IntentID))
	}
	if e.Stage != intent.StageReceived {
		return r.refuse(fmt.Sprintf("%s is not an intent's trail (it starts at stage %s)", r.rec.IntentID, e.Stage))
	}
	var got events.IntentReceived
	if err := e.decode(&got); err != nil {
		return err
	}
	r.req = got.Request
	r.res.Inputs.UserIntent, r.res.Inputs.Signature = r.req.Text, r.req.Signature != nil
	r.res.Inputs.AsOf = r.req.AsOf
	r.same(intent.StageReceived, "intent received", "intent received")
	if err := bounds.Request(r.req); err != nil {
		r.stop(bounds.Vote(err))
	}
	return nil
}

func (r *run) consult() error {
	e, ok, err := r.take(intent.StageRegistry, false, audit.EventEnvironmentConsulted)
	if err != nil || !ok {
		return err
	}
	var c events.EnvironmentConsulted
	if err := e.decode(&c); err != nil {
		return err
	}
	return r.consultation(consultation{RegistryVersionID: c.Environment.VersionID, PolicyBundleVersion: c.PolicyBundleVersion,
		CatalogSnapshotVersion: c.CatalogSnapshotVersion, MaxReplanAttempts: c.MaxReplanAttempts}, &c.Environment)
}

// consultation loads the versions a consultation names; recorded is the
// snapshot the consultation event carries, when it carries one.
func (r *run) consultation(c consultation, recorded *registry.EnvironmentState) error {
	env, okEnv := r.rec.Snapshots[c.RegistryVersionID]
	cat, okCat := r.rec.Catalogs[c.CatalogSnapshotVersion]
	b, okBundle := r.rec.Bundles[c.PolicyBundleVersion]
	switch {
	case !okEnv:
		return r.refuse("registry snapshot " + c.RegistryVersionID + " is not recorded")
	case !okCat:
		return r.refuse("data catalog " + c.CatalogSnapshotVersion + " is not recorded")
	case !okBundle:
		return r.refuse("policy bundle " + c.PolicyBundleVersion + " is not recorded")
	}
	if r.res.Inputs.RegistryVersionID == "" {
		r.res.Inputs.RegistryVersionID, r.res.Inputs.PolicyBundleVersion, r.res.Inputs.CatalogSnapshotVersion =
			c.RegistryVersionID, c.PolicyBundleVersion, c.CatalogSnapshotVersion
	}
	// What was loaded by version is what was in force: the snapshot the
	// consultation recorded, the versions the content names.
	if recorded != nil {
		if err := r.compare(intent.StageRegistry, mustJSON(*recorded), env, "snapshot "+c.RegistryVersionID); err != nil {
			return err
		}
	}
	if cat.SnapshotVersion != c.CatalogSnapshotVersion {
		return r.differ(intent.StageRegistry, "catalog_snapshot_version", c.CatalogSnapshotVersion, cat.SnapshotVersion)
	}
	if b.Version != c.PolicyBundleVersion {
		return r.differ(intent.StageRegistry, "policy_bundle_version", c.PolicyBundleVersion, b.Version)
	}
	if c.MaxReplanAttempts == 0 {
		c.MaxReplanAttempts = b.MaxReplanAttempts
	}
	if b.MaxReplanAttempts != c.MaxReplanAttempts {
		return r.differ(intent.StageRegistry, "max_replan_attempts", fmt.Sprint(c.MaxReplanAttempts), fmt.Sprint(b.MaxReplanAttempts))
	}
	r.cons, r.env, r.cat, r.bundle = c, env, cat, b
	return nil
}

func (r *run) normalize() error {
	e, ok, err := r.take(intent.StageNormalizer, false, audit.EventSemanticResolution)
	if err != nil || !ok {
		return err
	}
	var rec events.SemanticResolution
	if err := e.decode(&rec); err != nil {
		return err
	}
	if rec.Resolver != "" {
		r.answer(intent.StageNormalizer, "custom_domain_resolver "+rec.Resolver+": its draft signature, as recorded")
	}
	if rec.Enriched != nil {
		r.answer(intent.StageNormalizer, "catalog_enrichment_hook: its enriched signature, as recorded")
	}
	if rec.Scored != nil {
		r.answer(intent.StageNormalizer, fmt.Sprintf("confidence_scorer_override: %.4f, as recorded", *rec.Scored))
	}
	// Priced as the stage did (docs/adr/0134): at the day it recorded the
	// resolution, against the intent's ceiling.
	cost := resolution.CostInput{Now: e.At, CostCeilingDBU: r.req.CostCeilingDBU}
	k, err := kernel.Normalize(r.ctx, kernel.NormalizeInput{Text: r.req.Text, Signature: r.req.Signature, Cost: cost}, r.cat, r.env, recordedNormalizer{rec})
	if err != nil {
		return r.differ(intent.StageNormalizer, "error", "(none)", err.Error())
	}
	if e.Outcome != k.Outcome {
		return r.differ(intent.StageNormalizer, "outcome", e.Outcome, k.Outcome)
	}
	res := k.Resolution
	summary := k.Outcome
	if res.Resolved {
		summary = fmt.Sprintf("%s, confidence %.2f, %s", k.Outcome, res.ConfidenceScore, res.ConfirmationMode)
	}
	if err := r.compare(intent.StageNormalizer, e.Details, k.Record, summary); err != nil {
		return err
	}
	r.resolution, r.pending = res, res.Signature
	if k.Stop != nil {
		r.stop(*k.Stop)
	}
	return nil
}

// checkScope is step 3: its lock check, I4 and TTL gates are the
// environment's answers. A busy scope in reject mode is recorded (the
// vote is computed again from the holders it names); I4 and the TTL
// policy record no event, so the decision that followed is the answer.
func (r *run) checkScope() error {
	if e, ok := r.peek(); ok && e.Type == audit.EventScopeCheck {
		r.pos++
		var sc events.ScopeCheck
		if err := e.decode(&sc); err != nil {
			return err
		}
		if len(sc.HeldOrQueuedBy) > 0 && sc.ConflictResolution == "reject" {
			r.answer(intent.StageLock, "lock check: the target scope was held by "+strings.Join(sc.HeldOrQueuedBy, ", "))
			r.stop(concurrency.ConflictVote(sc.HeldOrQueuedBy))
			return nil
		}
	}
	if e, ok := r.peek(); ok && e.Type == audit.EventDecision {
		_, _, err := r.take(intent.StageLock, true)
		return err
	}
	return nil
}

// confirm is step 5: auto goes on; soft shows the signature and goes on
// unless a conflict escalates it (the intents running on its scopes are
// the environment's answer, taken from the record); hard_required and
// human_escalation take the recorded human answer, and an approval that
// chose an interpretation is resolved again as that interpretation.
func (r *run) confirm() error {
	res := r.resolution
	mode, triggers, reason := res.ConfirmationMode, res.ConfirmationTriggers, ""
	if mode == confirmation.ModeSoft {
		e, ok := r.peek()
		if !ok || e.Type != audit.EventSoftConfirmation {
			return nil // recorded before soft confirmations were (docs/adr/0134): it went on
		}
		r.pos++
		var rec events.SoftConfirmation
		if err := e.decode(&rec); err != nil {
			return err
		}
		if len(rec.RunningIntents) > 0 {
			r.answer(intent.StageConfirmation, "intents running on the scopes it touches: "+strings.Join(rec.RunningIntents, ", "))
		}
		in := resolution.ConfirmationInput(res, r.env)
		in.RunningIntents = rec.RunningIntents
		c := confirmation.Evaluate(in)
		outcome := "proceeded"
		if c.Mode.NeedsHuman() {
			outcome = "escalated"
		}
		want := events.SoftConfirmation{Mode: c.Mode, Triggers: c.Triggers, Outcome: outcome, Shown: confirmation.Show(res.Signature),
			Signature: res.Signature, Conflicts: c.Conflicts, RunningIntents: rec.RunningIntents}
		if err := r.compare(intent.StageConfirmation, e.Details, want, "soft: "+outcome); err != nil {
			return err
		}
		if !c.Mode.NeedsHuman() {
			return nil
		}
		mode, triggers, reason = c.Mode, c.Triggers, "a soft confirmation escalated by a conflict: "+strings.Join(c.Conflicts, "; ")
	}
	if !mode.NeedsHuman() {
		return nil
	}
	chose, err := r.humanChoice(intent.StageConfirmation, mode, triggers, res.Signature, reason, res.CompetingInterpretations)
	if err != nil || chose == nil {
		return err
	}
	// The approver chose an interpretation (docs/adr/0135): resolved again
	// as it, it must give the signature the approval recorded.
	again, err := resolution.ResolveAs(r.req.Text, r.cat, r.env, chose.Interpretation)
	if err != nil {
		return r.differ(intent.StageConfirmation, "interpretation", chose.Interpretation, err.Error())
	}
	if chose.Chosen != nil {
		want, werr := chose.Chosen.Encode()
		got, gerr := again.Signature.Encode()
		if werr != nil || gerr != nil {
			return fmt.Errorf("replay %s: encode the chosen signature: %w", intent.StageConfirmation, errors.Join(werr, gerr))
		}
		if path, a, b, differs := firstDiff(want, got); differs {
			return r.differ(intent.StageConfirmation, "chosen_signature."+path, a, b)
		}
	}
	r.pending = again.Signature
	return nil
}

// human is humanChoice with no interpretation to choose from.
func (r *run) human(stage string, mode confirmation.Mode, triggers []confirmation.Trigger, asked signature.Signature, reason string) error {
	_, err := r.humanChoice(stage, mode, triggers, asked, reason, nil)
	return err
}

// humanChoice is the Confirmation Orchestrator's wait (workflows/confirm.go
// awaitChoice): the question asked must be the one recorded, and the
// recorded answer is the human's; chose is the approval, when it chose one
// of offered.
func (r *run) humanChoice(stage string, mode confirmation.Mode, triggers []confirmation.Trigger, asked signature.Signature, reason string, offered []string) (chose *events.HumanConfirmation, err error) {
	answers := []string{audit.EventHumanApproved, audit.EventHumanRejected, audit.EventHumanEscalationTimeout, audit.EventConfirmationCancelled}
	e, ok, err := r.take(stage, false, append([]string{audit.EventConfirmationRequested}, answers...)...)
	if err != nil || !ok {
		return nil, err
	}
	if e.Type == audit.EventConfirmationRequested {
		var q events.ConfirmationRequested
		if err := e.decode(&q); err != nil {
			return nil, err
		}
		timeout := confirmation.HumanTimeout
		if r.req.EscalationTimeoutSeconds > 0 {
			timeout = time.Duration(r.req.EscalationTimeoutSeconds) * time.Second
		}
		want := events.ConfirmationRequested{IntentID: r.rec.IntentID, Mode: mode, Triggers: triggers, Signature: asked,
			TimeoutSeconds: int(timeout / time.Second), Reason: reason, Interpretations: offered}
		// A scheduled run looked for a standing approval first (ADR 0125):
		// which ones were in force is the environment's answer, taken from
		// the record; the question is the same with why none applied.
		if r.req.Schedule != "" {
			prefix := strings.TrimSpace(reason + " (no standing approval applies: ")
			if strings.HasPrefix(q.Reason, prefix) && strings.HasSuffix(q.Reason, ")") {
				want.Reason = q.Reason
				r.answer(stage, "no standing approval applied: "+strings.TrimSuffix(strings.TrimPrefix(q.Reason, prefix), ")"))
			}
		}
		if err := r.compare(stage, e.Details, want, fmt.Sprintf("%s asked (%s)", mode, joinTriggers(triggers))); err != nil {
			return nil, err
		}
		if e, ok, err = r.take(stage, false, answers...); err != nil || !ok {
			return nil, err
		}
	}
	var hc events.HumanConfirmation
	if e.Type == audit.EventHumanApproved || e.Type == audit.EventHumanRejected {
		if err := e.decode(&hc); err != nil {
			return nil, err
		}
	}
	outcome := map[string]confirmation.Outcome{
		audit.EventHumanApproved: confirmation.OutcomeApproved, audit.EventHumanRejected: confirmation.OutcomeRejected,
		audit.EventHumanEscalationTimeout: confirmation.OutcomeTimeout, audit.EventConfirmationCancelled: confirmation.OutcomeCancelled,
	}[e.Type]
	who := ""
	if hc.By != "" {
		who = " by " + hc.By
	}
	if hc.Interpretation != "" {
		who += ", choosing interpretation " + hc.Interpretation
	}
	r.answer(stage, fmt.Sprintf("%s: %s%s", mode, outcome, who))
	if !confirmation.Proceeds(outcome) {
		r.stop(confirmation.BlockVote(outcome, hc.Reason))
		return nil, nil
	}
	if hc.Interpretation != "" {
		return &hc, nil
	}
	return nil, nil
}
