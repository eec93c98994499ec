package confirmation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// An answer to an escalation arrives from outside (the Web UI, the Temporal
// CLI, the cfa CLI, the API) and is checked here before it can approve or
// reject anything (ADR 0115): its shape, then who sent it.

// The answers an escalation takes, by signal or Update name.
const (
	AnswerApprove = "approve"
	AnswerReject  = "reject"
)

// Answer is the payload of an approve or reject: {"by": ..., "reason": ...}.
// The API adds the caller's principal type and how it was authenticated
// (auth_context), which become the CFS Principal of the answer's receipt;
// a signal without them is recorded as a HUMAN answering by
// temporal_signal.
type Answer struct {
	By            string `json:"by"`
	Reason        string `json:"reason"`
	PrincipalType string `json:"principal_type,omitempty"`
	AuthContext   string `json:"auth_context,omitempty"`
	// Standing gives an approval of a scheduled run for the runs after it
	// too, for StandingFor (a Go duration; DefaultStandingFor when empty):
	// see standing.go and docs/adr/0125.
	Standing    bool   `json:"standing,omitempty"`
	StandingFor string `json:"standing_for,omitempty"`
	// Interpretation chooses one of the escalation's competing
	// interpretations, by name, with an approval: the intent goes on with
	// that interpretation's signature (docs/adr/0135). Empty approves the
	// signature asked.
	Interpretation string `json:"interpretation,omitempty"`
}

// MaxAnswerField bounds by and reason (characters).
const MaxAnswerField = 512

// ErrRefused matches (errors.Is) every refusal of an answer.
var ErrRefused = errors.New("confirmation refused")

// Refusal says why an answer was not taken; it is audited
// (CONFIRMATION_REFUSED) and the escalation stays open.
type Refusal struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Reason }

// Unwrap lets errors.Is(err, ErrRefused) match any *Refusal.
func (r *Refusal) Unwrap() error { return ErrRefused }

// Refusal codes.
const (
	RefusedUnknownSignal = "unknown_signal"
	RefusedMalformed     = "malformed_payload"
	RefusedMissingField  = "missing_field"
	RefusedNotApprover   = "not_an_approver"
	RefusedSelfApproval  = "self_approval"
	RefusedNoEscalation  = "no_open_escalation"
	// RefusedUnknownInterpretation: the interpretation chosen is not one
	// of the escalation's competing interpretations.
	RefusedUnknownInterpretation = "unknown_interpretation"
	// RefusedInterpretationUnresolved: the interpretation chosen could not
	// be resolved into a signature (or its signature is out of bounds).
	RefusedInterpretationUnresolved = "interpretation_unresolved"
)

func refused(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Reason: fmt.Sprintf(format, args...)}
}

const answerShape = `send {"by": "<your name>", "reason": "<why>"}`

// DecodeAnswer reads an answer's JSON payload strictly: one object with by
// and reason, both non-empty, nothing else. data is nil when the sender
// attached no payload.
func DecodeAnswer(data []byte) (Answer, error) {
	var a Answer
	if len(bytes.TrimSpace(data)) == 0 {
		return a, refused(RefusedMalformed, "the payload is empty: %s", answerShape)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Answer{}, refused(RefusedMalformed, "the payload %s is not an answer (%v): %s", Excerpt(data), err, answerShape)
	}
	if dec.More() {
		return Answer{}, refused(RefusedMalformed, "the payload holds more than one value: %s", answerShape)
	}
	return a, a.Validate()
}

// Validate checks by and reason: required, printable, bounded.
func (a Answer) Validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"by", a.By}, {"reason", a.Reason}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
			continue
		}
		if !utf8.ValidString(f.v) || utf8.RuneCountInString(f.v) > MaxAnswerField || strings.ContainsAny(f.v, "\x00\r\n") {
			return refused(RefusedMalformed, "%s must be one line of at most %d characters", f.name, MaxAnswerField)
		}
	}
	if len(missing) > 0 {
		return refused(RefusedMissingField, "%s required: %s", strings.Join(missing, " and "), answerShape)
	}
	switch a.PrincipalType {
	case "", "HUMAN", "AGENT", "SERVICE":
	default:
		return refused(RefusedMalformed, "principal_type must be HUMAN, AGENT or SERVICE, got %s", Excerpt([]byte(a.PrincipalType)))
	}
	if !utf8.ValidString(a.AuthContext) || utf8.RuneCountInString(a.AuthContext) > MaxAnswerField || strings.ContainsAny(a.AuthContext, "\x00\r\n") {
		return refused(RefusedMalformed, "auth_context must be one line of at most %d characters", MaxAnswerField)
	}
	if !utf8.ValidString(a.Interpretation) || utf8.RuneCountInString(a.Interpretation) > MaxAnswerField || strings.ContainsAny(a.Interpretation, "\x00\r\n") {
		return refused(RefusedMalformed, "interpretation must be one line of at most %d characters: the name of one of the competing interpretations", MaxAnswerField)
	}
	if a.Interpretation != "" && a.Standing {
		return refused(RefusedMalformed, "an approval that chooses an interpretation cannot be standing: choose it without standing (a standing approval is bound to the signature asked)")
	}
	if _, err := a.StandingDuration(); err != nil {
		return err
	}
	return nil
}

// CheckInterpretation says whether the answer's interpretation may be
// chosen: only with an approval, and only one of offered (the
// escalation's competing interpretations, by name). nil when the answer
// chooses none, or a *Refusal that lists the names it may choose.
func (a Answer) CheckInterpretation(answer string, offered []string) error {
	switch {
	case a.Interpretation == "":
		return nil
	case answer != AnswerApprove:
		return refused(RefusedMalformed, "only an approval chooses an interpretation: %s without interpretation", answer)
	case len(offered) == 0:
		return refused(RefusedUnknownInterpretation, "interpretation %s: this escalation offers no competing interpretations to choose from; approve or reject the signature asked", quoted(a.Interpretation))
	case !slices.Contains(offered, a.Interpretation):
		return refused(RefusedUnknownInterpretation, "interpretation %s is not one of the competing interpretations: choose one of %s", quoted(a.Interpretation), strings.Join(offered, ", "))
	}
	return nil
}

func quoted(s string) string { return fmt.Sprintf("%q", Excerpt([]byte(s))) }

// Excerpt is data as the audit trail keeps it: at most 200 bytes.
func Excerpt(data []byte) string {
	const limit = 200
	s := strings.ToValidUTF8(string(data), "?")
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}

// Category groups escalation triggers for approvers (policy bundle
// confirmation.approvers).
type Category string

// The categories, one per kind of risk an approver answers for.
const (
	CategoryPII         Category = "pii"
	CategorySilverWrite Category = "silver_write"
	CategoryGoldWrite   Category = "gold_write"
	CategoryCost        Category = "cost"
	CategoryAmbiguity   Category = "ambiguity"
	CategoryStale       Category = "stale"
	// CategoryPromotion is not an escalation's: who may promote a skill
	// when the lifecycle policy leaves promotion to a human (ADR 0129).
	CategoryPromotion Category = "promotion"
)

// Categories lists them in the bundle's order.
var Categories = []Category{CategoryPII, CategorySilverWrite, CategoryGoldWrite, CategoryCost, CategoryAmbiguity, CategoryStale, CategoryPromotion}

// CategoryOf is the category of a trigger.
func CategoryOf(t Trigger) Category {
	switch t {
	case TriggerLowConfidencePII, TriggerPIIDetected:
		return CategoryPII
	case TriggerSilverWritePublishBlocked, TriggerSilverWrite:
		return CategorySilverWrite
	case TriggerGoldWrite:
		return CategoryGoldWrite
	case TriggerPreCostNearCeiling, TriggerHighEstimatedCost:
		return CategoryCost
	case TriggerStaleDataset, TriggerSoftConflictConstraint, TriggerSoftConflictRunningIntent:
		// The state of the environment the intent assumes: a stale or
		// degraded dataset, a constraint injected, another intent at work.
		return CategoryStale
	}
	return CategoryAmbiguity // competing interpretations, low or medium confidence
}

// Approvers is the bundle's declaration of who may answer escalations.
type Approvers struct {
	// SelfApproval lets the submitter approve their own intent (default
	// false: separation of duties).
	SelfApproval bool `json:"self_approval" yaml:"self_approval"`
	// Groups names sets of approvers.
	Groups map[string][]string `json:"groups,omitempty" yaml:"groups"`
	// ByCategory lists, per category, the approvers or groups who may
	// answer an escalation with a trigger of that category.
	ByCategory map[Category][]string `json:"approvers,omitempty" yaml:"approvers"`
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9._@-]{0,63}$`)

// Validate checks the declaration: known categories, names and groups
// well formed, every member a name (no nested groups), no name both a
// person and a group.
func (a Approvers) Validate() error {
	for g, members := range a.Groups {
		if !nameRE.MatchString(g) {
			return fmt.Errorf("confirmation.groups: %q must be lowercase letters, digits, '.', '_', '@' or '-'", g)
		}
		if len(members) == 0 {
			return fmt.Errorf("confirmation.groups.%s is empty: list its approvers or remove it", g)
		}
		for _, m := range members {
			if !nameRE.MatchString(m) {
				return fmt.Errorf("confirmation.groups.%s: member %q must be lowercase letters, digits, '.', '_', '@' or '-'", g, m)
			}
			if _, ok := a.Groups[m]; ok {
				return fmt.Errorf("confirmation.groups.%s: member %q is a group; list its people instead", g, m)
			}
		}
	}
	for c, who := range a.ByCategory {
		if !slices.Contains(Categories, c) {
			return fmt.Errorf("confirmation.approvers: category %q is not one of %v", c, Categories)
		}
		for _, w := range who {
			if !nameRE.MatchString(w) {
				return fmt.Errorf("confirmation.approvers.%s: %q must be a group or a name (lowercase letters, digits, '.', '_', '@' or '-')", c, w)
			}
		}
	}
	return nil
}

// Allowed is who may answer one escalation, as the escalation records it.
type Allowed struct {
	// Approvers may approve or reject: those declared for every category
	// of the escalation's triggers, sorted. Empty: nobody is declared,
	// so only a rejection by the submitter or the timeout ends it.
	Approvers []string `json:"approvers"`
	// Submitter may reject (withdraw) their intent, and approve it only
	// with SelfApproval.
	Submitter    string `json:"submitter,omitempty"`
	SelfApproval bool   `json:"self_approval"`
}

// For resolves who may answer an escalation with these triggers.
// An escalation with no trigger (a hard_required mode from confidence
// alone) is an ambiguity.
func (a Approvers) For(triggers []Trigger, submitter string) Allowed {
	if len(triggers) == 0 {
		triggers = []Trigger{TriggerLowConfidence}
	}
	var names map[string]bool
	for _, t := range triggers {
		got := map[string]bool{}
		for _, w := range a.ByCategory[CategoryOf(t)] {
			if members, ok := a.Groups[w]; ok {
				for _, m := range members {
					got[m] = true
				}
			} else {
				got[w] = true
			}
		}
		if names == nil {
			names = got
			continue
		}
		for n := range names {
			if !got[n] {
				delete(names, n)
			}
		}
	}
	out := Allowed{Approvers: []string{}, Submitter: submitter, SelfApproval: a.SelfApproval}
	for n := range names {
		out.Approvers = append(out.Approvers, n)
	}
	sort.Strings(out.Approvers)
	return out
}

// ForCategory resolves who may answer for one category (groups expanded,
// sorted), with no submitter: promoting a skill has none.
func (a Approvers) ForCategory(c Category) Allowed {
	seen := map[string]bool{}
	out := Allowed{Approvers: []string{}, SelfApproval: a.SelfApproval}
	for _, w := range a.ByCategory[c] {
		members, ok := a.Groups[w]
		if !ok {
			members = []string{w}
		}
		for _, m := range members {
			if !seen[m] {
				seen[m] = true
				out.Approvers = append(out.Approvers, m)
			}
		}
	}
	sort.Strings(out.Approvers)
	return out
}

// Check says whether by may give this answer (AnswerApprove or
// AnswerReject): nil, or a *Refusal.
func (al Allowed) Check(answer, by string) error {
	self := al.Submitter != "" && strings.EqualFold(by, al.Submitter)
	switch {
	case answer == AnswerReject && self:
		return nil // a submitter may always withdraw
	case answer == AnswerApprove && self && !al.SelfApproval:
		return refused(RefusedSelfApproval, "%s submitted this intent and may not approve it (separation of duties): ask one of %s", by, al.who())
	case slices.Contains(al.Approvers, by):
		return nil
	}
	return refused(RefusedNotApprover, "%s may not answer this escalation: ask one of %s (policy bundle confirmation.approvers)", by, al.who())
}

func (al Allowed) who() string {
	if len(al.Approvers) == 0 {
		return "nobody (no approver is declared for its triggers: declare one in the policy bundle, or let it time out)"
	}
	return strings.Join(al.Approvers, ", ")
}
