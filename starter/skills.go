package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/render"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/internal/skill"
)

// skillCmd reads the skill registry (whitepaper 5.12, docs/adr/0121).
func (c *cli) skillCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "skill",
		Short: "The skill registry: skills, their lifecycle state and history (docs/adr/0121)",
		Long: `A skill is every execution of one governed signature (its id is the
signature's shape hash without execution_context and the registry-injected
publish_blocked, docs/adr/0121). Its lifecycle (whitepaper 5.12):

` + stateHelp() + `
Every transition is in the skill's append-only history and in an audit
trail of its own (skill-transition-<skill id>-<seq>).`,
	}
	cmd.AddCommand(c.skillListCmd(), c.skillShowCmd(), c.skillHistoryCmd(), c.skillPromoteCmd(), c.skillReevaluateCmd())
	return cmd
}

func stateHelp() string {
	var b strings.Builder
	for _, s := range skill.States() {
		fmt.Fprintf(&b, "  %-20s %s\n", s, s.Description())
	}
	return b.String()
}

func (c *cli) skillListCmd() *cobra.Command {
	var (
		state string
		limit int
	)
	cmd := &cobra.Command{
		Use:         "list [--state STATE] [--limit N]",
		Short:       "List the skills, most recently changed first",
		Args:        cobra.NoArgs,
		Annotations: receipt(audit.ActionRead, "skills"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st skill.State
			if state != "" {
				var err error
				if st, err = skill.ParseState(state); err != nil {
					return invalid(fmt.Errorf("skill list: --state: %w", err))
				}
			}
			if limit < 1 || limit > 10000 {
				return invalid(fmt.Errorf("skill list: --limit %d: give 1 to 10000", limit))
			}
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			skills, err := store.Skills(cmd.Context(), st, limit)
			if err != nil {
				return err
			}
			return c.emit(skills, func(w io.Writer) {
				if len(skills) == 0 {
					if st != "" {
						fmt.Fprintf(w, "no skill is %s\n", st)
					} else {
						fmt.Fprintln(w, "no skill registered: a skill is registered when an intent of its signature executes")
					}
					return
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SKILL\tSTATE\tDOMAIN\tINTENT\tTRANSITIONS\tUPDATED")
				for _, s := range skills {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", shortSkill(s.ID), s.State, render.Dash(s.Domain), render.Dash(s.Intent),
						s.Transitions, s.UpdatedAt.Format(time.RFC3339))
				}
				_ = tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only the skills in this state: "+joinStates())
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many skills (1 to 10000)")
	return cmd
}

// shownSkill is `skill show`'s result: the skill and what may move it.
type shownSkill struct {
	db.Skill
	Description string       `json:"description"`
	Next        []skill.Rule `json:"next"`
}

func (c *cli) skillShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "show SKILL_ID",
		Short:       "Show a skill: its state, what it does and the triggers that may move it (an id prefix of 8+ digits will do)",
		Args:        cobra.ExactArgs(1),
		Annotations: receipt(audit.ActionRead, "skill:{0}"),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, id, err := c.skillStore(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			sk, err := store.Skill(cmd.Context(), id)
			if err != nil {
				return skillError(err)
			}
			shown := shownSkill{Skill: sk, Description: sk.State.Description(), Next: []skill.Rule{}}
			for _, r := range skill.Table() {
				if r.From == sk.State {
					shown.Next = append(shown.Next, r)
				}
			}
			return c.emit(shown, func(w io.Writer) { printSkill(w, shown) })
		},
	}
}

func printSkill(w io.Writer, s shownSkill) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "skill\t%s\n", s.ID)
	fmt.Fprintf(tw, "state\t%s: %s\n", s.State, s.Description)
	fmt.Fprintf(tw, "domain\t%s\n", render.Dash(s.Domain))
	fmt.Fprintf(tw, "intent\t%s\n", render.Dash(s.Intent))
	fmt.Fprintf(tw, "registered\t%s\n", s.CreatedAt.Format(time.RFC3339))
	fmt.Fprintf(tw, "updated\t%s\n", s.UpdatedAt.Format(time.RFC3339))
	fmt.Fprintf(tw, "transitions\t%d (cfa skill history %s)\n", s.Transitions, shortSkill(s.ID))
	_ = tw.Flush()
	if len(s.Next) == 0 {
		fmt.Fprintf(w, "no trigger applies: %s is final\n", s.State)
	} else {
		fmt.Fprintln(w, "triggers that may move it:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, r := range s.Next {
			fmt.Fprintf(tw, "  %s\t→ %s\t%s\n", r.Trigger, r.To, r.Trigger.Description())
		}
		_ = tw.Flush()
	}
	if len(s.Artifact) > 0 {
		var art skill.Artifact
		var meta skill.GenerationMetadata
		if json.Unmarshal(s.Artifact, &art) == nil && json.Unmarshal(s.GenerationMetadata, &meta) == nil {
			fmt.Fprintln(w, "artifact (frozen at promotion; reused by later intents while the skill is served):")
			tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "  source intent\t%s\n", art.SourceIntentID)
			fmt.Fprintf(tw, "  intent_signature_hash\t%s\n", art.SignatureHash)
			fmt.Fprintf(tw, "  plan_hash\t%s\n", art.PlanHash)
			fmt.Fprintf(tw, "  plan_template_hash\t%s\n", art.PlanTemplateHash)
			fmt.Fprintf(tw, "  code_hash\t%s\n", art.CodeHash)
			_ = tw.Flush()
			fmt.Fprintln(w, "skill_generation_metadata:")
			tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "  promoted_at\t%s\n", meta.PromotedAt.Format(time.RFC3339))
			fmt.Fprintf(tw, "  promoted_by_system_version\t%s\n", meta.PromotedBySystemVersion)
			fmt.Fprintf(tw, "  policy_bundle_at_promotion\t%s\n", meta.PolicyBundleAtPromotion)
			fmt.Fprintf(tw, "  catalog_snapshot_at_promotion\t%s\n", meta.CatalogSnapshotAtPromotion)
			sc := meta.PromotionScores
			fmt.Fprintf(tw, "  promotion_scores\tIFo %.4g, IFs %.4g, IFg %.4g, IDI %.4g\n", sc.IFo, sc.IFs, sc.IFg, sc.IDI)
			fmt.Fprintf(tw, "  execution_count_at_promotion\t%d\n", meta.ExecutionCountAtPromotion)
			fmt.Fprintf(tw, "  evaluation_window\t%s\n", meta.EvaluationWindow)
			_ = tw.Flush()
		}
	}
	fmt.Fprintln(w, "signature (keyed: without execution_context and publish_blocked):")
	var sig bytes.Buffer
	if json.Indent(&sig, s.Signature, "  ", "  ") == nil {
		fmt.Fprintf(w, "  %s\n", sig.String())
	}
}

func (c *cli) skillHistoryCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "history SKILL_ID",
		Short:       "Show every transition of a skill, oldest first (an id prefix of 8+ digits will do)",
		Args:        cobra.ExactArgs(1),
		Annotations: receipt(audit.ActionRead, "skill:{0}"),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, id, err := c.skillStore(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			history, err := store.SkillHistory(cmd.Context(), id)
			if err != nil {
				return skillError(err)
			}
			return c.emit(history, func(w io.Writer) {
				if len(history) == 0 {
					fmt.Fprintf(w, "skill %s has no transition yet: it is ephemeral\n", id)
					return
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SEQ\tAT\tFROM\tTO\tTRIGGER\tBY\tREASON")
				for _, h := range history {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Seq, h.At.Format(time.RFC3339), h.From, h.To, h.Trigger,
						h.Actor.ID, render.Dash(oneLine(h.Reason)))
				}
				_ = tw.Flush()
				fmt.Fprintf(w, "each transition's audit trail: cfa audit show %s%s-<SEQ>\n", db.SkillTransitionPrefix, id)
			})
		},
	}
}

func (c *cli) skillPromoteCmd() *cobra.Command {
	var by, reason string
	cmd := &cobra.Command{
		Use:   "promote SKILL_ID --by NAME --reason TEXT",
		Short: "Promote a promotion_candidate (an approver of the bundle's confirmation.approvers.promotion): freezes its artifact and generation metadata",
		Long: `Promotes a promotion_candidate to persisted_active (whitepaper 5.12, ADR 0129).
The artifact frozen is the execution that made it a candidate: its governed
signature, plan and code by hash, with skill_generation_metadata. Later
intents of the skill reuse it. With lifecycle.yaml's promotion.mode
automatic, the Promotion Engine promotes candidates itself; with human, an
approver does it here (or with the API's PromoteSkill).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bundle, err := app.LoadBundle(cmd.Context(), c.cfg.PolicyDir)
			if err != nil {
				return err
			}
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			t, err := service.PromoteSkill(cmd.Context(), store, bundle, args[0], service.Caller{ID: by}, reason)
			if err != nil {
				return skillError(err)
			}
			return c.emit(t, func(w io.Writer) {
				fmt.Fprintf(w, "skill %s: %s → %s (promoted by %s); its artifact is frozen: cfa skill show %s\n", t.SkillID, t.From, t.To, t.Actor.ID, shortSkill(t.SkillID))
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who promotes (must be an approver of confirmation.approvers.promotion)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (audited)")
	return cmd
}

func (c *cli) skillReevaluateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reevaluate",
		Short: "Re-check every skill against the policy bundle and catalog in force: demote what the bundle no longer approves, retire what left the catalog, pause their schedules",
		Long: `The worker does this at start, with the bundle and catalog it loads
(ADR 0129). Each change is recorded once per skill and version, so running it
again changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			done, err := app.ReevaluateSkills(cmd.Context(), c.cfg, zap.NewNop())
			if err != nil && len(done) == 0 {
				return err
			}
			return c.emit(done, func(w io.Writer) {
				if len(done) == 0 {
					fmt.Fprintln(w, "every skill still holds under the bundle and catalog in force")
					return
				}
				for _, r := range done {
					fmt.Fprintf(w, "skill %s: %s → %s (%s): %s\n", shortSkill(r.SkillID), r.From, r.To, r.Trigger, r.Reason)
					for _, s := range r.Paused {
						fmt.Fprintf(w, "  schedule %s paused\n", s)
					}
				}
			})
		},
	}
}

// skillStore opens the store and resolves an id or an id prefix.
func (c *cli) skillStore(ctx context.Context, idOrPrefix string) (*db.Store, string, error) {
	store, err := c.openStore(ctx)
	if err != nil {
		return nil, "", err
	}
	id, err := store.ResolveSkillID(ctx, idOrPrefix)
	if err != nil {
		return nil, "", skillError(err)
	}
	return store, id, nil
}

// skillError gives a registry error its code and what to do.
func skillError(err error) error {
	switch {
	case errors.Is(err, db.ErrSkillNotFound):
		return &failure{code: codeNotFound, exit: exitFailure, err: err, fix: "check the id: `cfa skill list` shows the skills"}
	case errors.Is(err, db.ErrSkillAmbiguous):
		return &failure{code: codeInvalidInput, exit: exitFailure, err: err, fix: "give more digits of the id: `cfa skill list -o json` shows them whole"}
	case errors.Is(err, db.ErrInvalidSkillID):
		return &failure{code: codeInvalidInput, exit: exitFailure, err: err, fix: "give the skill id or its first 8 or more hex digits: `cfa skill list` shows them"}
	}
	return err
}

// shortSkill abbreviates a skill id as list shows it (show and history
// take the prefix back).
func shortSkill(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func joinStates() string {
	s := make([]string, 0, len(skill.States()))
	for _, st := range skill.States() {
		s = append(s, string(st))
	}
	return strings.Join(s, ", ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
