package db

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/contextplane"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
)

// A skill transition is audited as a trail of its own (like an operator
// action): INTENT_RECEIVED, SKILL_TRANSITION, INTENT_COMPLETED, under the
// id SkillTransitionPrefix<skill id>-<seq>, in the stage StageSkillLifecycle.
// Every trail of one skill shares the correlation id skill:<skill id>, so
// AuditByCorrelation reads a skill's audited history.
const (
	SkillTransitionPrefix = "skill-transition-"
	StageSkillLifecycle   = "skill_lifecycle"
)

// Sentinel errors of the skill registry. A refused transition is
// skill.ErrRefused (a *skill.RefusedError naming the allowed triggers).
var (
	// ErrSkillNotFound: no skill has that id (or id prefix).
	ErrSkillNotFound = errors.New("skill not found")
	// ErrSkillAmbiguous: more than one skill id starts with the prefix.
	ErrSkillAmbiguous = errors.New("skill id prefix is ambiguous")
	// ErrInvalidSkillID: not a skill id nor a prefix of one.
	ErrInvalidSkillID = errors.New("invalid skill id")
	// ErrSkillCauseConflict: the skill already moved for this cause, with
	// another trigger.
	ErrSkillCauseConflict = errors.New("skill transition cause already recorded with another trigger")
)

// Bounds of what a caller records with a transition.
const (
	maxSkillReason   = 2048
	maxSkillCause    = 256
	maxSkillEvidence = 64 << 10
	// MinSkillIDPrefix is the shortest prefix ResolveSkillID accepts.
	MinSkillIDPrefix = 8
)

// Skill is one skill of the registry: its key, state and what it does.
type Skill struct {
	ID    string      `json:"skill_id"`
	State skill.State `json:"state"`
	// Transitions is the number of transitions in its history (the seq
	// of the last one).
	Transitions int64  `json:"transitions"`
	Domain      string `json:"domain"`
	Intent      string `json:"intent"`
	// Signature is the canonical encoding of the keyed signature
	// (skill.Keyed): what the skill does; its SHA-256 is the ID.
	Signature json.RawMessage `json:"signature"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	// Artifact and GenerationMetadata are what promotion persists (5.12
	// skill_generation_metadata); empty until then.
	Artifact           json.RawMessage `json:"artifact,omitempty"`
	GenerationMetadata json.RawMessage `json:"generation_metadata,omitempty"`
}

// SkillTransition is one entry of a skill's history.
type SkillTransition struct {
	SkillID  string          `json:"skill_id"`
	Seq      int64           `json:"seq"`
	From     skill.State     `json:"from_state"`
	To       skill.State     `json:"to_state"`
	Trigger  skill.Trigger   `json:"trigger"`
	Reason   string          `json:"reason"`
	Evidence json.RawMessage `json:"evidence,omitempty"`
	Actor    audit.Principal `json:"actor"`
	Cause    string          `json:"cause,omitempty"`
	// AuditID is the id of the transition's audit trail (`cfa audit show`).
	AuditID string    `json:"audit_id"`
	At      time.Time `json:"at"`
}

// SkillChange asks for one transition of a skill.
type SkillChange struct {
	SkillID string
	Trigger skill.Trigger
	// Reason says why, in words (e.g. skill.Finding.Reason).
	Reason string
	// Evidence is what the transition rests on (e.g. the step-18
	// lifecycle.Evaluation): encoded as a JSON object, or nil for none.
	Evidence any
	// Actor is who moves the skill: the promotion engine (SYSTEM), an
	// operator (HUMAN), ...
	Actor audit.Principal
	// Cause, when given, makes the call idempotent: a second call for the
	// same skill and cause returns the transition the first recorded
	// (e.g. intent:<id> for the evaluation of one intent's execution).
	Cause string
	// Promotion is what the promoted trigger freezes (required with it,
	// refused with any other): the skill's artifact and generation
	// metadata are written with the transition, whose evidence records the
	// artifact's references and the metadata (ADR 0129).
	Promotion *skill.Promotion
}

// EnsureSkill registers the skill of sig, ephemeral, unless it is
// registered already, and returns it, with whether this call registered
// it. The skill id is skill.Key(sig). Registering is not a transition and
// is not audited: the skill's first transition is.
func (s *Store) EnsureSkill(ctx context.Context, sig signature.Signature) (Skill, bool, error) {
	if strings.TrimSpace(sig.Domain) == "" || strings.TrimSpace(sig.Intent) == "" {
		return Skill{}, false, fmt.Errorf("register skill: the signature's domain and intent are empty: give the governed signature of the execution")
	}
	id, err := skill.Key(sig)
	if err != nil {
		return Skill{}, false, fmt.Errorf("register skill: %w", err)
	}
	keyed, err := skill.Keyed(sig).Encode()
	if err != nil {
		return Skill{}, false, fmt.Errorf("register skill %s: encode its signature: %w", id, err)
	}
	var n int64
	err = s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		if n, err = q.EnsureSkill(ctx, dbsqlc.EnsureSkillParams{SkillID: id, Domain: sig.Domain, Intent: sig.Intent, Signature: keyed}); err != nil || n == 0 {
			return err
		}
		// A registered skill enters the context plane with it (ADR 0147).
		return projectSkill(ctx, q, "skill-registered:"+id, "skill registered",
			contextplane.Skill{Key: id, State: string(skill.Ephemeral), Domain: sig.Domain, Intent: sig.Intent})
	})
	if err != nil {
		return Skill{}, false, fmt.Errorf("register skill %s: %w", id, err)
	}
	sk, err := s.Skill(ctx, id)
	return sk, n == 1, err
}

// Skill returns the skill with id, or ErrSkillNotFound.
func (s *Store) Skill(ctx context.Context, id string) (Skill, error) {
	row, err := s.q.GetSkill(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Skill{}, fmt.Errorf("skill %s: %w", id, ErrSkillNotFound)
	}
	if err != nil {
		return Skill{}, fmt.Errorf("read skill %s: %w", id, err)
	}
	return skillOf(row), nil
}

// Skills returns up to limit skills (100 when limit <= 0), those in state
// only unless state is "", most recently changed first.
func (s *Store) Skills(ctx context.Context, state skill.State, limit int) ([]Skill, error) {
	if state != "" {
		if _, err := skill.ParseState(string(state)); err != nil {
			return nil, fmt.Errorf("list skills: %w", err)
		}
	}
	rows, err := s.q.ListSkills(ctx, dbsqlc.ListSkillsParams{State: string(state), MaxRows: clampLimit(limit)})
	if err != nil {
		return nil, fmt.Errorf("list skills: %w", err)
	}
	out := make([]Skill, len(rows))
	for i, r := range rows {
		out[i] = skillOf(r)
	}
	return out, nil
}

// SkillHistory returns the transitions of skill id, oldest first, or
// ErrSkillNotFound when no skill has that id.
func (s *Store) SkillHistory(ctx context.Context, id string) ([]SkillTransition, error) {
	var out []SkillTransition
	err := s.inTx(ctx, readOnlySnapshot, func(q *dbsqlc.Queries) error {
		if _, err := q.GetSkill(ctx, id); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("skill %s: %w", id, ErrSkillNotFound)
		} else if err != nil {
			return err
		}
		rows, err := q.SkillTransitions(ctx, id)
		if err != nil {
			return err
		}
		out = make([]SkillTransition, len(rows))
		for i, r := range rows {
			out[i] = transitionOf(r)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrSkillNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("read the history of skill %s: %w", id, err)
	}
	return out, nil
}

var hexPrefix = regexp.MustCompile(`^[0-9a-f]+$`)

// ResolveSkillID returns the id of the one skill whose id is idOrPrefix or
// starts with it (at least MinSkillIDPrefix hex digits, as `cfa skill
// list` abbreviates them).
func (s *Store) ResolveSkillID(ctx context.Context, idOrPrefix string) (string, error) {
	p := strings.ToLower(strings.TrimSpace(idOrPrefix))
	if len(p) < MinSkillIDPrefix || len(p) > 64 || !hexPrefix.MatchString(p) {
		return "", fmt.Errorf("%w %q: give the skill id (64 hex digits) or its first %d or more: `cfa skill list` shows them", ErrInvalidSkillID, idOrPrefix, MinSkillIDPrefix)
	}
	ids, err := s.q.SkillIDsWithPrefix(ctx, p)
	if err != nil {
		return "", fmt.Errorf("look up skill %s: %w", p, err)
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("skill %s: %w", p, ErrSkillNotFound)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("skill id prefix %s: %w (%s, %s, ...): give more digits", p, ErrSkillAmbiguous, ids[0], ids[1])
}

// ApplySkillTransition moves a skill by c.Trigger, as internal/skill's
// table says, in one transaction: it locks the skill's row (transitions of
// one skill are serialised), appends the transition to its history, moves
// the skill, and audits the transition in a trail of its own
// (SKILL_TRANSITION between INTENT_RECEIVED and INTENT_COMPLETED). A
// refused transition (skill.ErrRefused) records nothing. With a Cause, a
// repeated call returns the transition already recorded for it.
func (s *Store) ApplySkillTransition(ctx context.Context, c SkillChange) (SkillTransition, error) {
	evidence, err := c.check()
	if err != nil {
		return SkillTransition{}, err
	}
	var out SkillTransition
	err = s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		row, err := q.LockSkill(ctx, c.SkillID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("skill %s: %w: register it first (EnsureSkill)", c.SkillID, ErrSkillNotFound)
		}
		if err != nil {
			return fmt.Errorf("lock skill: %w", err)
		}
		if c.Cause != "" {
			prev, err := q.SkillTransitionByCause(ctx, dbsqlc.SkillTransitionByCauseParams{SkillID: c.SkillID, Cause: c.Cause})
			switch {
			case err == nil && skill.Trigger(prev.Trigger) == c.Trigger:
				out = transitionOf(prev)
				return nil
			case err == nil:
				return fmt.Errorf("%w: cause %s moved the skill by %s (transition %d), not %s", ErrSkillCauseConflict, c.Cause, prev.Trigger, prev.Seq, c.Trigger)
			case !errors.Is(err, pgx.ErrNoRows):
				return fmt.Errorf("look up the transition of cause %s: %w", c.Cause, err)
			}
		}
		from := skill.State(row.State)
		to, err := skill.Transition(from, c.Trigger)
		if err != nil {
			return err
		}
		seq := row.LastSeq + 1
		now := time.Now().UTC().Truncate(time.Microsecond)
		out = SkillTransition{
			SkillID: c.SkillID, Seq: seq, From: from, To: to, Trigger: c.Trigger, Reason: c.Reason, Evidence: evidence,
			Actor: c.Actor, Cause: c.Cause, AuditID: SkillTransitionPrefix + c.SkillID + "-" + strconv.FormatInt(seq, 10), At: now,
		}
		if err := q.InsertSkillTransition(ctx, dbsqlc.InsertSkillTransitionParams{
			SkillID: out.SkillID, Seq: seq, FromState: string(from), ToState: string(to), Trigger: string(c.Trigger), Reason: c.Reason,
			Evidence: evidence, ActorID: c.Actor.ID, ActorType: string(c.Actor.Type), Cause: c.Cause, AuditID: out.AuditID, At: now,
		}); err != nil {
			return fmt.Errorf("record transition %d: %w", seq, err)
		}
		if c.Promotion != nil {
			if err := promote(ctx, q, c, to, seq, now); err != nil {
				return err
			}
		} else if err := q.MoveSkill(ctx, dbsqlc.MoveSkillParams{SkillID: c.SkillID, State: string(to), LastSeq: seq, UpdatedAt: now}); err != nil {
			return fmt.Errorf("move skill to %s: %w", to, err)
		}
		if err := projectSkill(ctx, q, out.AuditID, "skill transition "+string(c.Trigger),
			contextplane.Skill{Key: c.SkillID, State: string(to), Domain: row.Domain, Intent: row.Intent, Transitions: seq}); err != nil {
			return err
		}
		if err := auditSkillTransition(ctx, q, out); err != nil {
			return err
		}
		// The promotion gate (CFS Gate, docs/adr/0150) cites the
		// transition's SKILL_TRANSITION receipt, the trail's second.
		return recordPromotionGate(ctx, q, out, audit.ReceiptID(out.AuditID, 2))
	})
	if err != nil {
		return SkillTransition{}, fmt.Errorf("skill %s, trigger %s: %w", c.SkillID, c.Trigger, err)
	}
	return out, nil
}

// promote moves the skill onto its promoted transition with the artifact
// and generation metadata it froze.
func promote(ctx context.Context, q *dbsqlc.Queries, c SkillChange, to skill.State, seq int64, now time.Time) error {
	art, err := json.Marshal(c.Promotion.Artifact)
	if err != nil {
		return fmt.Errorf("encode the artifact: %w", err)
	}
	meta, err := json.Marshal(c.Promotion.Metadata)
	if err != nil {
		return fmt.Errorf("encode the generation metadata: %w", err)
	}
	if err := q.PromoteSkill(ctx, dbsqlc.PromoteSkillParams{SkillID: c.SkillID, State: string(to), LastSeq: seq, UpdatedAt: now,
		Artifact: art, GenerationMetadata: meta}); err != nil {
		return fmt.Errorf("persist the promoted artifact: %w", err)
	}
	return nil
}

// promotionEvidence is what a promoted transition records: the artifact's
// references (its bytes are the skill's and, by intent, execution_plans')
// and the generation metadata.
type promotionEvidence struct {
	Artifact artifactRef              `json:"artifact"`
	Metadata skill.GenerationMetadata `json:"skill_generation_metadata"`
}

type artifactRef struct {
	SourceIntentID   string `json:"source_intent_id"`
	SignatureHash    string `json:"intent_signature_hash"`
	PlanHash         string `json:"plan_hash"`
	PlanTemplateHash string `json:"plan_template_hash"`
	CodeHash         string `json:"code_hash"`
}

// check validates c and returns its evidence as a JSON object (nil for
// none).
func (c SkillChange) check() ([]byte, error) {
	var errs []string
	switch {
	case c.Trigger == skill.Promoted && c.Promotion == nil:
		errs = append(errs, "trigger promoted needs the artifact and generation metadata it freezes (SkillChange.Promotion)")
	case c.Trigger != skill.Promoted && c.Promotion != nil:
		errs = append(errs, fmt.Sprintf("trigger %s persists no artifact: only promoted does", c.Trigger))
	case c.Promotion != nil:
		a := c.Promotion.Artifact
		if a.SkillID != c.SkillID || a.SourceIntentID == "" || a.PlanHash == "" || a.CodeHash == "" || a.PlanTemplateHash == "" || len(a.Plan) == 0 || len(a.Code) == 0 {
			errs = append(errs, "promotion: the artifact must be this skill's, with its source intent, plan, code and their hashes (skill.NewArtifact)")
		}
		if c.Evidence != nil {
			errs = append(errs, "promotion: its evidence is the artifact's references and the metadata; give no other")
		}
		c.Evidence = promotionEvidence{Artifact: artifactRef{SourceIntentID: a.SourceIntentID, SignatureHash: a.SignatureHash, PlanHash: a.PlanHash,
			PlanTemplateHash: a.PlanTemplateHash, CodeHash: a.CodeHash}, Metadata: c.Promotion.Metadata}
	}
	if !skill.ValidKey(c.SkillID) {
		errs = append(errs, fmt.Sprintf("skill id %q is not a skill id (64 hex digits): give skill.Key of the signature", c.SkillID))
	}
	if _, err := skill.ParseTrigger(string(c.Trigger)); err != nil {
		errs = append(errs, err.Error())
	}
	if strings.TrimSpace(c.Actor.ID) == "" || !slices.Contains([]audit.PrincipalType{audit.PrincipalHuman, audit.PrincipalAgent, audit.PrincipalService, audit.PrincipalSystem}, c.Actor.Type) {
		errs = append(errs, fmt.Sprintf("actor %q of type %q: say who moves the skill, with a type HUMAN, AGENT, SERVICE or SYSTEM", c.Actor.ID, c.Actor.Type))
	}
	if len(c.Reason) > maxSkillReason || !utf8.ValidString(c.Reason) {
		errs = append(errs, fmt.Sprintf("reason: give at most %d bytes of UTF-8", maxSkillReason))
	}
	if len(c.Cause) > maxSkillCause || !utf8.ValidString(c.Cause) || strings.TrimSpace(c.Cause) != c.Cause {
		errs = append(errs, fmt.Sprintf("cause %q: give at most %d bytes of UTF-8, without leading or trailing space (e.g. intent:<id>)", c.Cause, maxSkillCause))
	}
	var evidence []byte
	if c.Evidence != nil {
		b, err := json.Marshal(c.Evidence)
		switch {
		case err != nil:
			errs = append(errs, fmt.Sprintf("evidence: %v", err))
		case bytes.Equal(b, []byte("null")):
		case len(b) == 0 || b[0] != '{':
			errs = append(errs, "evidence: give a JSON object (e.g. the lifecycle.Evaluation), not "+string(b[:min(len(b), 20)]))
		case len(b) > maxSkillEvidence:
			errs = append(errs, fmt.Sprintf("evidence: %d bytes, give at most %d", len(b), maxSkillEvidence))
		default:
			evidence = b
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("skill transition: %s", strings.Join(errs, "; "))
	}
	return evidence, nil
}

// auditSkillTransition appends the transition's trail inside the
// transaction that records it: the transition and its audit commit
// together or not at all.
func auditSkillTransition(ctx context.Context, q *dbsqlc.Queries, t SkillTransition) error {
	received, err := audit.EncodeDetails(events.SkillTransitionReceived{SkillID: t.SkillID, Trigger: t.Trigger, By: t.Actor.ID, Cause: t.Cause})
	if err != nil {
		return err
	}
	moved, err := audit.EncodeDetails(events.SkillTransition{
		SkillID: t.SkillID, Seq: t.Seq, From: t.From, To: t.To, Trigger: t.Trigger, Reason: t.Reason, Evidence: t.Evidence, Cause: t.Cause,
	})
	if err != nil {
		return err
	}
	evs := []audit.Event{
		{EventType: audit.EventIntentReceived, Outcome: "received", Action: audit.ActionInvoke, Details: received},
		{EventType: audit.EventSkillTransition, Outcome: string(t.To), Action: audit.ActionWrite, Details: moved},
		{EventType: audit.EventIntentCompleted, Outcome: string(t.To), Action: audit.ActionWrite},
	}
	for i := range evs {
		e := &evs[i]
		e.IntentID, e.Seq, e.CorrelationID, e.Stage = t.AuditID, int64(i+1), "skill:"+t.SkillID, StageSkillLifecycle
		e.Actor, e.Targets, e.Timestamp = t.Actor, []string{"skill:" + t.SkillID}, t.At
	}
	if _, err := appendEvents(ctx, q, evs); err != nil {
		return fmt.Errorf("audit skill transition %s: %w", t.AuditID, err)
	}
	return nil
}

func skillOf(r dbsqlc.Skill) Skill {
	return Skill{
		ID: r.SkillID, State: skill.State(r.State), Transitions: r.LastSeq, Domain: r.Domain, Intent: r.Intent,
		Signature: r.Signature, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Artifact: r.Artifact, GenerationMetadata: r.GenerationMetadata,
	}
}

func transitionOf(r dbsqlc.SkillTransition) SkillTransition {
	return SkillTransition{
		SkillID: r.SkillID, Seq: r.Seq, From: skill.State(r.FromState), To: skill.State(r.ToState), Trigger: skill.Trigger(r.Trigger),
		Reason: r.Reason, Evidence: r.Evidence, Actor: audit.Principal{ID: r.ActorID, Type: audit.PrincipalType(r.ActorType)},
		Cause: r.Cause, AuditID: r.AuditID, At: r.At.UTC(),
	}
}
