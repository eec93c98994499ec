// Package skilltest builds what tests of the skill registry need: a valid
// promotion for any signature, without planning it.
package skilltest

import (
	"encoding/json"
	"time"

	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
)

// Promotion freezes a minimal plan of sig (its hash verifies) and a code
// placeholder, with plausible generation metadata. It panics on an
// unhashable signature, which only a broken test writes.
func Promotion(intentID string, sig signature.Signature) *skill.Promotion {
	h, err := sig.Hash()
	if err != nil {
		panic(err)
	}
	plan := planner.ExecutionPlan{SignatureHash: h, CatalogSnapshotVersion: "catalog_test", Intent: sig.Intent, Target: "target"}
	if plan.Hash, err = planner.HashPlan(plan); err != nil {
		panic(err)
	}
	art, err := skill.NewArtifact(intentID, sig, h, plan, json.RawMessage(`[{"backend":"postgres","files":[]}]`), "c0de")
	if err != nil {
		panic(err)
	}
	return &skill.Promotion{Artifact: art, Metadata: skill.GenerationMetadata{
		PromotedAt: time.Date(2026, 3, 22, 14, 30, 0, 0, time.UTC), PromotedBySystemVersion: "cfa_v2+test",
		PolicyBundleAtPromotion: "v1.0.0+test", CatalogSnapshotAtPromotion: "catalog_test",
		PromotionScores:           skill.Scores{IFo: 0.88, IFs: 0.94, IFg: 1, IDI: 1},
		ExecutionCountAtPromotion: 5, EvaluationWindow: "last_7_days",
	}}
}
