package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
	"github.com/contextualflux/cfa/internal/skill"
)

// Gates (CFS Gate, docs/adr/0150). The decision logic of each gate stays
// where it was (the Promotion Engine, `cfa registry resolve`); the gate
// records its requirements, the receipts that satisfy them and its status,
// in the transaction of the decision.
const (
	GateKindPromotion         = "promotion"
	GateKindProjectionFailure = "projection_failure"
	// Requirement ids of the promotion gate (whitepaper 5.12).
	ReqGatePassed     = "gate_passed"
	ReqArtifactFrozen = "artifact_frozen"
	// Requirement id of a projection-failure gate (I4).
	ReqResolved = "resolved"
)

// ErrGateNotFound: no gate has that id.
var ErrGateNotFound = errors.New("gate not found")

// PromotionGateID is the gate of a skill's promotion.
func PromotionGateID(skillID string) string { return "promotion:" + skillID }

// ProjectionFailureGateID is the gate of an intent's failed projection.
func ProjectionFailureGateID(intentID string) string { return "projection-failure:" + intentID }

// GateRecord is a gate with what the store knows besides the CFS message.
type GateRecord struct {
	Gate      *cfspb.Gate
	Kind      string
	Subject   string
	Version   int32
	CreatedAt time.Time
	UpdatedAt time.Time
}

func promotionRequirements(skillID string) []*cfspb.Requirement {
	check := func(trigger string) *cfspb.Query {
		return &cfspb.Query{Language: "cfa-audit", Expression: fmt.Sprintf(
			`event_type == "SKILL_TRANSITION" && targets contains "skill:%s" && details.trigger == %q`, skillID, trigger)}
	}
	return []*cfspb.Requirement{
		{Id: ReqGatePassed, Description: "whitepaper 5.12 promotion gate: IFo >= T1 AND IFs >= T2 AND IFg = 1 AND executions >= min_executions in the evaluation window (the Promotion Engine's evaluation, on the transition to promotion_candidate)", Check: check(string(skill.GatePassed))},
		{Id: ReqArtifactFrozen, Description: "the skill's artifact (signature, plan, code) and skill_generation_metadata are frozen by the promoted transition", Check: check(string(skill.Promoted))},
	}
}

// recordPromotionGate updates the promotion gate of t's skill: the
// transition to promotion_candidate satisfies gate_passed, the promoted
// transition artifact_frozen; a move to a state that is neither served nor
// a candidate locks the gate again (a new cycle of evidence). receiptID is
// the transition's SKILL_TRANSITION receipt.
func recordPromotionGate(ctx context.Context, q *dbsqlc.Queries, t SkillTransition, receiptID string) error {
	id := PromotionGateID(t.SkillID)
	var satisfy string
	switch {
	case t.Trigger == skill.Promoted:
		satisfy = ReqArtifactFrozen
	case t.To == skill.PromotionCandidate:
		satisfy = ReqGatePassed
	case skill.Served(t.To):
		return nil // still served (watchlist, recovered): the unlock stands
	}
	cur, err := q.LockCFSGate(ctx, id)
	exists := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("lock gate %s: %w", id, err)
	}
	if satisfy == "" && !exists {
		return nil // a skill that never reached the gate has none
	}
	g := &cfspb.Gate{GateId: id, Requirements: promotionRequirements(t.SkillID), Unlocks: []string{"skill:" + t.SkillID + "/" + string(skill.PersistedActive)}}
	if exists {
		if g, err = decodeGate(cur.Definition); err != nil {
			return err
		}
	}
	if satisfy == "" {
		for _, r := range g.Requirements {
			r.Satisfied = false
		}
	} else {
		if satisfy == ReqGatePassed {
			for _, r := range g.Requirements { // a new candidacy starts a new cycle
				r.Satisfied = false
			}
		}
		for _, r := range g.Requirements {
			if r.GetId() == satisfy {
				r.Satisfied = true
			}
		}
	}
	if satisfy == "" {
		receiptID = "" // a lock satisfies no requirement: nothing to cite
	}
	return saveGate(ctx, q, g, GateKindPromotion, t.SkillID, cur.Version, satisfy, receiptID, t.At)
}

// openProjectionFailureGate creates the LOCKED gate of an intent's failed
// projection, once.
func openProjectionFailureGate(ctx context.Context, q *dbsqlc.Queries, intentID string, scopes []string, at time.Time) error {
	id := ProjectionFailureGateID(intentID)
	if _, err := q.LockCFSGate(ctx, id); err == nil {
		return nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("lock gate %s: %w", id, err)
	}
	return saveGate(ctx, q, projectionFailureGate(intentID, scopes), GateKindProjectionFailure, intentID, 0, "", "", at)
}

func projectionFailureGate(intentID string, scopes []string) *cfspb.Gate {
	unlocks := slices.Clone(scopes)
	if len(unlocks) == 0 {
		unlocks = []string{"registry:*"} // unknown scopes: the whole registry is uncertain
	}
	return &cfspb.Gate{GateId: ProjectionFailureGateID(intentID), Unlocks: unlocks, Requirements: []*cfspb.Requirement{{
		Id:          ReqResolved,
		Description: "I4: an operator checked the Context Registry against the data (or redid the projection) and resolved the marker (`cfa registry resolve`)",
		Check: &cfspb.Query{Language: "cfa-audit", Expression: fmt.Sprintf(
			`event_type == "PROJECTION_FAILURE_RESOLVED" && targets contains "intent:%s"`, intentID)},
	}}}
}

// resolveProjectionFailureGate satisfies the gate of intentID's failed
// projection with the resolution's receipt, creating the gate first for a
// marker older than gates.
func resolveProjectionFailureGate(ctx context.Context, q *dbsqlc.Queries, intentID, receiptID string, at time.Time) error {
	id := ProjectionFailureGateID(intentID)
	cur, err := q.LockCFSGate(ctx, id)
	g := projectionFailureGate(intentID, nil)
	switch {
	case err == nil:
		if g, err = decodeGate(cur.Definition); err != nil {
			return err
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("lock gate %s: %w", id, err)
	}
	for _, r := range g.Requirements {
		if r.GetId() == ReqResolved {
			r.Satisfied = true
		}
	}
	return saveGate(ctx, q, g, GateKindProjectionFailure, intentID, cur.Version, ReqResolved, receiptID, at)
}

// gateStatus: every requirement satisfied unlocks, some make it pending.
func gateStatus(g *cfspb.Gate) cfspb.GateStatus {
	n := 0
	for _, r := range g.GetRequirements() {
		if r.GetSatisfied() {
			n++
		}
	}
	switch {
	case n > 0 && n == len(g.GetRequirements()):
		return cfspb.GateStatus_UNLOCKED
	case n > 0:
		return cfspb.GateStatus_PENDING
	}
	return cfspb.GateStatus_LOCKED
}

// saveGate stores g's definition (without evidence) as version prev+1 and,
// with a receipt, the evidence row for requirement.
func saveGate(ctx context.Context, q *dbsqlc.Queries, g *cfspb.Gate, kind, subject string, prev int32, requirement, receiptID string, at time.Time) error {
	g.Evidence = nil
	g.Status = gateStatus(g)
	def, err := cfs.Canonical(g)
	if err != nil {
		return fmt.Errorf("encode gate %s: %w", g.GetGateId(), err)
	}
	var expires *time.Time
	if g.GetExpiresAt() != nil {
		e := g.GetExpiresAt().AsTime()
		expires = &e
	}
	if err := q.UpsertCFSGate(ctx, dbsqlc.UpsertCFSGateParams{GateID: g.GetGateId(), Kind: kind, Subject: subject, Status: g.GetStatus().String(),
		Definition: def, ExpiresAt: expires, Version: prev + 1, UpdatedAt: at}); err != nil {
		return fmt.Errorf("record gate %s: %w", g.GetGateId(), err)
	}
	if receiptID == "" {
		return nil
	}
	if err := q.InsertCFSGateEvidence(ctx, dbsqlc.InsertCFSGateEvidenceParams{GateID: g.GetGateId(), RequirementID: requirement,
		ReceiptID: receiptID, VerifiedAt: at}); err != nil {
		return fmt.Errorf("record the evidence %s of gate %s: %w", receiptID, g.GetGateId(), err)
	}
	return nil
}

func decodeGate(b []byte) (*cfspb.Gate, error) {
	g := &cfspb.Gate{}
	if err := proto.Unmarshal(b, g); err != nil {
		return nil, fmt.Errorf("decode gate: %w", err)
	}
	return g, nil
}

// Gate returns a gate with its evidence. An unlocked gate whose expires_at
// has passed reads as LOCKED (the unlock lapsed).
func (s *Store) Gate(ctx context.Context, gateID string) (GateRecord, error) {
	var out GateRecord
	err := s.inTx(ctx, readOnlySnapshot, func(q *dbsqlc.Queries) error {
		row, err := q.CFSGate(ctx, gateID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("gate %q: %w: `cfa gate list` shows them", gateID, ErrGateNotFound)
		}
		if err != nil {
			return err
		}
		if out, err = gateRecord(row); err != nil {
			return err
		}
		ev, err := q.CFSGateEvidence(ctx, gateID)
		if err != nil {
			return err
		}
		for _, e := range ev {
			out.Gate.Evidence = append(out.Gate.Evidence, &cfspb.Evidence{RequirementId: e.RequirementID, ReceiptId: e.ReceiptID, VerifiedAt: cfs.Timestamp(e.VerifiedAt)})
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrGateNotFound) {
			return GateRecord{}, err
		}
		return GateRecord{}, fmt.Errorf("read gate %s: %w", gateID, err)
	}
	return out, nil
}

// Gates lists gates, most recently changed first, of one kind ("" for
// all), without their evidence.
func (s *Store) Gates(ctx context.Context, kind string, limit int) ([]GateRecord, error) {
	rows, err := s.q.CFSGates(ctx, dbsqlc.CFSGatesParams{Kind: optional(kind), MaxRows: listLimit(limit)})
	if err != nil {
		return nil, fmt.Errorf("list gates: %w", err)
	}
	out := make([]GateRecord, 0, len(rows))
	for _, r := range rows {
		g, err := gateRecord(r)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

func gateRecord(r dbsqlc.CfsGate) (GateRecord, error) {
	g, err := decodeGate(r.Definition)
	if err != nil {
		return GateRecord{}, fmt.Errorf("gate %s: %w", r.GateID, err)
	}
	if g.GetStatus() == cfspb.GateStatus_UNLOCKED && r.ExpiresAt != nil && !time.Now().Before(*r.ExpiresAt) {
		g.Status = cfspb.GateStatus_LOCKED
	}
	return GateRecord{Gate: g, Kind: r.Kind, Subject: r.Subject, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}, nil
}
