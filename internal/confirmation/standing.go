package confirmation

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// A standing approval (issue 13, docs/adr/0125) is a schedule's human
// confirmation given for the runs after it: "a schedule's first human
// confirmation may be given as standing — bound to the signature, the
// policy bundle, the catalog snapshot and an expiry — and later runs whose
// signature, bundle and catalog match skip the human wait". The rules that
// decide whether one covers a later question are here; the store keeps the
// grants and the workflow asks.

// Bounds of StandingFor.
const (
	DefaultStandingFor = 720 * time.Hour // 30 days
	MinStandingFor     = time.Minute
	MaxStandingFor     = 2160 * time.Hour // 90 days: a standing approval is re-given at least quarterly
)

// Refusal codes of a standing answer.
const (
	// RefusedStandingNotScheduled: a standing answer to an intent that no
	// schedule started (there are no later runs to stand for).
	RefusedStandingNotScheduled = "standing_not_scheduled"
	// RefusedStandingReject: only an approval can be standing.
	RefusedStandingReject = "standing_reject"
)

// StandingDuration is how long a standing answer stands: StandingFor, or
// DefaultStandingFor when empty; 0 for an answer that is not standing.
func (a Answer) StandingDuration() (time.Duration, error) {
	if !a.Standing {
		if a.StandingFor != "" {
			return 0, refused(RefusedMalformed, "standing_for %s needs standing: true", Excerpt([]byte(a.StandingFor)))
		}
		return 0, nil
	}
	if a.StandingFor == "" {
		return DefaultStandingFor, nil
	}
	d, err := time.ParseDuration(a.StandingFor)
	if err != nil || d < MinStandingFor || d > MaxStandingFor {
		return 0, refused(RefusedMalformed, "standing_for must be a duration from %s to %s (e.g. 720h), got %s", MinStandingFor, MaxStandingFor, Excerpt([]byte(a.StandingFor)))
	}
	return d, nil
}

// CheckStanding says whether a standing answer may be given: to an
// approval (not a rejection) of an intent a schedule started. nil, or a
// *Refusal.
func (a Answer) CheckStanding(answer string, scheduled bool) error {
	switch {
	case !a.Standing:
		return nil
	case answer != AnswerApprove:
		return refused(RefusedStandingReject, "only an approval can be standing: send %s without standing", answer)
	case !scheduled:
		return refused(RefusedStandingNotScheduled, "this intent was not started by a schedule, so there is no later run for a standing approval to cover: approve it without --standing (a standing approval is given on a run of `cfa schedule`)")
	}
	return nil
}

// Standing is a standing approval as the matching rules see it.
type Standing struct {
	ID string `json:"id"`
	// SkillID is skill.Key of the signature the human confirmed.
	SkillID                string     `json:"skill_id"`
	PolicyBundleVersion    string     `json:"policy_bundle_version"`
	CatalogSnapshotVersion string     `json:"catalog_snapshot_version"`
	Mode                   Mode       `json:"confirmation_mode"`
	Categories             []Category `json:"categories"`
	ExpiresAt              time.Time  `json:"expires_at"`
	Revoked                bool       `json:"revoked,omitempty"`
}

// StandingAsk is a later run's question: what a standing approval must
// match to answer it.
type StandingAsk struct {
	SkillID                string
	PolicyBundleVersion    string
	CatalogSnapshotVersion string
	Mode                   Mode
	Triggers               []Trigger
	// At is when the question is asked (workflow time).
	At time.Time
}

// CategoriesOf are the categories of a question's triggers, sorted and
// distinct; a question with no trigger is an ambiguity (as Approvers.For).
func CategoriesOf(triggers []Trigger) []Category {
	if len(triggers) == 0 {
		return []Category{CategoryAmbiguity}
	}
	var out []Category
	for _, t := range triggers {
		if c := CategoryOf(t); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// Covers says whether s answers ask, and if not, the first difference: the
// signature (skill key), the policy bundle, the catalog snapshot, the
// expiry, a revocation, a stricter mode or a category s did not answer.
func (s Standing) Covers(ask StandingAsk) (bool, string) {
	switch {
	case s.Revoked:
		return false, fmt.Sprintf("standing approval %s was revoked", s.ID)
	case s.SkillID != ask.SkillID:
		return false, fmt.Sprintf("the signature differs from the one standing approval %s confirmed (skill %s, not %s)", s.ID, short(ask.SkillID), short(s.SkillID))
	case s.PolicyBundleVersion != ask.PolicyBundleVersion:
		return false, fmt.Sprintf("the policy bundle is %s, standing approval %s was given under %s", ask.PolicyBundleVersion, s.ID, s.PolicyBundleVersion)
	case s.CatalogSnapshotVersion != ask.CatalogSnapshotVersion:
		return false, fmt.Sprintf("the catalog snapshot is %s, standing approval %s was given under %s", ask.CatalogSnapshotVersion, s.ID, s.CatalogSnapshotVersion)
	case !ask.At.Before(s.ExpiresAt):
		return false, fmt.Sprintf("standing approval %s expired at %s", s.ID, s.ExpiresAt.UTC().Format(time.RFC3339))
	case !modeCovers(s.Mode, ask.Mode):
		return false, fmt.Sprintf("the question is %s, standing approval %s answered %s", ask.Mode, s.ID, s.Mode)
	}
	for _, c := range CategoriesOf(ask.Triggers) {
		if !slices.Contains(s.Categories, c) {
			return false, fmt.Sprintf("the question needs an approver for %s, standing approval %s answered %s", c, s.ID, joinCategories(s.Categories))
		}
	}
	return true, ""
}

// FindStanding returns the first of list that covers ask or, when none
// does, why not (the first difference of each, "; "-joined; "no standing
// approval" when list is empty).
func FindStanding(list []Standing, ask StandingAsk) (Standing, bool, string) {
	var why []string
	for _, s := range list {
		ok, reason := s.Covers(ask)
		if ok {
			return s, true, ""
		}
		why = append(why, reason)
	}
	if len(why) == 0 {
		return Standing{}, false, "no standing approval was given for this schedule and signature"
	}
	return Standing{}, false, strings.Join(why, "; ")
}

// modeCovers: an approval of a human_escalation stands for a hard_required
// question too, never the other way.
func modeCovers(given, asked Mode) bool {
	return given == asked || (given == ModeHumanEscalation && asked == ModeHardRequired)
}

func joinCategories(cs []Category) string {
	if len(cs) == 0 {
		return "none"
	}
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
