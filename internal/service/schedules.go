package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
	"github.com/contextualflux/cfa/workflows"
)

// Scheduled recurring pipelines (issue 13 item 3, docs/adr/0124): each
// `cfa schedule` is a Temporal Schedule, cfa-schedule-<name>, whose action
// starts one governed IntentWorkflow per period (workflow id
// intent-sched-<name>-<scheduled time>, correlation id schedule:<name>,
// as_of the scheduled day), and a row of the registry in Postgres.

// Schedule ids and bounds.
const (
	// SchedulePrefix prefixes the Temporal Schedule's id.
	SchedulePrefix = "cfa-schedule-"
	// ScheduledIntentPrefix prefixes each run's workflow id; Temporal
	// appends the scheduled time.
	ScheduledIntentPrefix = "intent-sched-"
	// MinScheduleEvery and MaxScheduleEvery bound --every.
	MinScheduleEvery = time.Second
	MaxScheduleEvery = 366 * 24 * time.Hour
	// MaxBackfillDays and MaxBackfillRuns bound one backfill.
	MaxBackfillDays = 366
	MaxBackfillRuns = 400
	// ScheduleCatchupWindow is how late a period missed while Temporal
	// was down still runs; older ones are left to `schedule backfill`.
	ScheduleCatchupWindow = time.Hour
	// ScheduleOverlap is the schedule's overlap policy: a period whose
	// predecessor still runs is skipped, so no run queues behind another
	// of its own schedule on the scope lock (ADR 0124).
	ScheduleOverlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
	// BackfillOverlap runs every backfilled period, one after another:
	// each waits for the one before it, which always ends (I5).
	BackfillOverlap = enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL
	// TriggerOverlap: a run triggered by hand while one runs starts after it.
	TriggerOverlap = enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE
)

var scheduleNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidateScheduleName checks a schedule's name: lowercase letters,
// digits, '-' and '_', starting with a letter or a digit, at most 63.
func ValidateScheduleName(name string) error {
	if !scheduleNameRE.MatchString(name) {
		return invalid(fmt.Errorf("schedule name %q: use lowercase letters, digits, '-' and '_', starting with a letter or a digit, at most 63 characters (e.g. nightly-nfe)", name))
	}
	return nil
}

// ScheduleID is the Temporal Schedule id of schedule name.
func ScheduleID(name string) string { return SchedulePrefix + name }

// ScheduleRequest creates a schedule: when (Cron or Every), what (Text,
// Skill or Signature) and the runs' options.
type ScheduleRequest struct {
	Name  string
	Cron  string
	Every time.Duration
	// Exactly one of Text, Skill (a skill id or a prefix of 8+ digits: its
	// keyed signature is submitted) and Signature.
	Text      string
	Skill     string
	Signature *signature.Signature
	// The runs' options, as `cfa submit` takes them.
	EscalationTimeoutSeconds int
	DryRun                   bool
	CostCeilingDBU           float64
	PartialFailureMode       string
	OnConflict               string
	UnitRetryBaseSeconds     int
	ReplanMode               string
	// By creates it: its runs are submitted as By (separation of duties:
	// By may not approve them unless the bundle allows self-approval).
	By     Caller
	Reason string
}

// Validate checks a request before anything is sent.
func (r ScheduleRequest) Validate() error {
	if err := ValidateScheduleName(r.Name); err != nil {
		return err
	}
	if err := ValidateSpec(r.Cron, r.Every); err != nil {
		return err
	}
	given := 0
	for _, set := range []bool{strings.TrimSpace(r.Text) != "", r.Skill != "", r.Signature != nil} {
		if set {
			given++
		}
	}
	if given != 1 {
		return invalid(errors.New("schedule create: give what each run does as exactly one of TEXT, --skill ID or -f signature.yaml"))
	}
	if strings.TrimSpace(r.By.ID) == "" {
		return invalid(errors.New("schedule create: say who creates it (--by, default $USER): its runs are submitted as them"))
	}
	probe := r.submit()
	if probe.Text == "" && probe.Signature == nil {
		probe.Text = "skill" // resolved later; the options are what is checked
	}
	if err := probe.Validate(); err != nil {
		var in *InputError
		if errors.As(err, &in) {
			return invalid(fmt.Errorf("schedule create: %s", strings.TrimPrefix(in.Err.Error(), "submit: ")))
		}
		return err
	}
	return nil
}

// ValidateSpec checks a schedule's spec: a cron expression or an interval,
// not both. The server parses the cron expression itself.
func ValidateSpec(cron string, every time.Duration) error {
	cron = strings.TrimSpace(cron)
	switch {
	case cron == "" && every == 0:
		return invalid(errors.New("schedule: say when it runs: --cron EXPR (e.g. \"0 6 * * *\", UTC) or --every DURATION (e.g. 24h)"))
	case cron != "" && every != 0:
		return invalid(errors.New("schedule: give --cron or --every, not both"))
	case every != 0 && (every < MinScheduleEvery || every > MaxScheduleEvery):
		return invalid(fmt.Errorf("schedule: --every %s: give %s to %s", every, MinScheduleEvery, MaxScheduleEvery))
	case every != 0 && every%time.Second != 0:
		return invalid(fmt.Errorf("schedule: --every %s: give whole seconds", every))
	case len(cron) > 256 || strings.ContainsAny(cron, "\r\n\x00"):
		return invalid(errors.New("schedule: --cron must be one line of at most 256 characters"))
	case cron != "" && len(strings.Fields(cron)) < 5 && !strings.HasPrefix(cron, "@"):
		return invalid(fmt.Errorf("schedule: --cron %q: give 5 to 7 fields (minute hour day-of-month month day-of-week [year]) or @daily, @hourly, @every 1h", cron))
	}
	return nil
}

// submit is the run options as a SubmitRequest.
func (r ScheduleRequest) submit() SubmitRequest {
	return SubmitRequest{Text: strings.TrimSpace(r.Text), Signature: r.Signature, EscalationTimeoutSeconds: r.EscalationTimeoutSeconds,
		DryRun: r.DryRun, CostCeilingDBU: r.CostCeilingDBU, PartialFailureMode: r.PartialFailureMode, OnConflict: r.OnConflict,
		UnitRetryBaseSeconds: r.UnitRetryBaseSeconds, ReplanMode: r.ReplanMode, SubmittedBy: r.By.ID}
}

// ScheduleInput is the input every run of schedule name starts with.
func (r ScheduleRequest) input() workflows.IntentInput {
	return workflows.IntentInput{
		Text: strings.TrimSpace(r.Text), Signature: r.Signature, CorrelationID: db.ScheduleCorrelation(r.Name),
		SubmittedBy: r.By.ID, SubmitterType: r.By.Type, SubmitterAuthContext: r.By.AuthContext,
		EscalationTimeoutSeconds: r.EscalationTimeoutSeconds, DryRun: r.DryRun, CostCeilingDBU: r.CostCeilingDBU,
		PartialFailureMode: r.PartialFailureMode, OnConflict: r.OnConflict, UnitRetryBaseSeconds: r.UnitRetryBaseSeconds,
		ReplanMode: r.ReplanMode, Schedule: r.Name,
	}
}

// scheduleOptions is what the registry keeps of the runs' options.
type scheduleOptions struct {
	EscalationTimeoutSeconds int     `json:"escalation_timeout_seconds,omitempty"`
	DryRun                   bool    `json:"dry_run,omitempty"`
	CostCeilingDBU           float64 `json:"cost_ceiling_dbu,omitempty"`
	PartialFailureMode       string  `json:"partial_failure_mode,omitempty"`
	OnConflict               string  `json:"on_conflict,omitempty"`
	UnitRetryBaseSeconds     int     `json:"unit_retry_base_seconds,omitempty"`
	ReplanMode               string  `json:"replan_mode,omitempty"`
}

func (s *Service) needStore(op string) error {
	if s.Store == nil {
		return fmt.Errorf("%s: the service has no Postgres store (DATABASE_URL)", op)
	}
	return nil
}

// CreateSchedule registers a schedule and creates its Temporal Schedule.
// A --skill schedule runs the skill's keyed signature and is bound to it
// at once; so is a -f schedule, to skill.Key of its signature; a text
// schedule is bound when its first run decides.
func (s *Service) CreateSchedule(ctx context.Context, req ScheduleRequest) (db.Schedule, error) {
	if err := req.Validate(); err != nil {
		return db.Schedule{}, err
	}
	if err := s.needStore("schedule create"); err != nil {
		return db.Schedule{}, err
	}
	source, input, skillID := db.ScheduleSourceText, strings.TrimSpace(req.Text), ""
	switch {
	case req.Skill != "":
		id, err := s.Store.ResolveSkillID(ctx, req.Skill)
		if err != nil {
			return db.Schedule{}, skillInputError(err)
		}
		sk, err := s.Store.Skill(ctx, id)
		if err != nil {
			return db.Schedule{}, skillInputError(err)
		}
		// Only a skill still in service is scheduled (not demoted,
		// deprecated or retired).
		if !slices.Contains([]skill.State{skill.Ephemeral, skill.PromotionCandidate, skill.PersistedActive, skill.Watchlist}, sk.State) {
			return db.Schedule{}, invalid(fmt.Errorf("schedule create: skill %s is %s: schedule an active skill, or the intent as text", shortSkillID(id), sk.State))
		}
		var sig signature.Signature
		if err := json.Unmarshal(sk.Signature, &sig); err != nil {
			return db.Schedule{}, fmt.Errorf("schedule create: read the signature of skill %s: %w", id, err)
		}
		req.Signature, source, input, skillID = &sig, db.ScheduleSourceSkill, id, id
	case req.Signature != nil:
		req.Signature = windowFromInterval(req.Signature, req.Every)
		key, err := skill.Key(*req.Signature)
		if err != nil {
			return db.Schedule{}, invalid(fmt.Errorf("schedule create: the signature: %w", err))
		}
		b, err := json.Marshal(req.Signature)
		if err != nil {
			return db.Schedule{}, fmt.Errorf("schedule create: encode the signature: %w", err)
		}
		source, input, skillID = db.ScheduleSourceSignature, string(b), key
	}
	every := ""
	if req.Every > 0 {
		every = req.Every.String()
	}
	sch, err := s.Store.CreateSchedule(ctx, db.NewSchedule{
		Name: req.Name, TemporalID: ScheduleID(req.Name), Source: source, Input: input, Cron: strings.TrimSpace(req.Cron), Every: every,
		Options: scheduleOptions{EscalationTimeoutSeconds: req.EscalationTimeoutSeconds, DryRun: req.DryRun, CostCeilingDBU: req.CostCeilingDBU,
			PartialFailureMode: req.PartialFailureMode, OnConflict: req.OnConflict, UnitRetryBaseSeconds: req.UnitRetryBaseSeconds, ReplanMode: req.ReplanMode},
		SkillID: skillID, By: req.By.principal(), Reason: req.Reason,
	})
	if errors.Is(err, db.ErrScheduleExists) {
		return db.Schedule{}, invalid(err)
	}
	if err != nil {
		return db.Schedule{}, err
	}
	in := req.input()
	summary, details := describe(in)
	spec := client.ScheduleSpec{}
	if req.Every > 0 {
		spec.Intervals = []client.ScheduleIntervalSpec{{Every: req.Every}}
	} else {
		spec.CronExpressions = []string{strings.TrimSpace(req.Cron)}
	}
	action := &client.ScheduleWorkflowAction{
		ID: ScheduledIntentPrefix + req.Name, Workflow: workflows.IntentWorkflowName, Args: []any{in}, TaskQueue: workflows.TaskQueue,
		StaticSummary: "schedule " + req.Name + ": " + summary, StaticDetails: details,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.AttrSubmittedBy.ValueSet(req.By.ID)),
	}
	_, err = s.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: ScheduleID(req.Name), Spec: spec, Action: action, Overlap: ScheduleOverlap, CatchupWindow: ScheduleCatchupWindow,
		Note: "cfa schedule create by " + req.By.ID, Memo: map[string]any{"cfa_schedule": req.Name},
	})
	if err != nil {
		// The registry row would name a schedule that does not run.
		_, derr := s.Store.DeleteSchedule(context.WithoutCancel(ctx), req.Name, "the Temporal Schedule was not created", req.By.principal())
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			return db.Schedule{}, invalid(fmt.Errorf("schedule create: Temporal has a schedule %s already that the registry does not know: remove it with `temporal schedule delete --schedule-id %s`, then create again", ScheduleID(req.Name), ScheduleID(req.Name)))
		}
		var bad *serviceerror.InvalidArgument
		if errors.As(err, &bad) {
			return db.Schedule{}, invalid(fmt.Errorf("schedule create %s: Temporal refused the schedule: %s: check --cron (5 to 7 fields, UTC) or --every", req.Name, bad.Error()))
		}
		return db.Schedule{}, errors.Join(fmt.Errorf("schedule create %s: create the Temporal Schedule: %w", req.Name, err), derr)
	}
	return sch, nil
}

func skillInputError(err error) error {
	if errors.Is(err, db.ErrSkillNotFound) || errors.Is(err, db.ErrInvalidSkillID) || errors.Is(err, db.ErrSkillAmbiguous) {
		return invalid(fmt.Errorf("schedule create --skill: %w", err))
	}
	return err
}

func (c Caller) principal() audit.Principal {
	p := audit.Principal{ID: c.ID, Type: audit.PrincipalType(c.Type), AuthContext: c.AuthContext}
	if p.Type == "" {
		p.Type = audit.PrincipalHuman
	}
	if p.AuthContext == "" {
		p.AuthContext = "cli"
	}
	return p
}

// Schedule states, as list and describe show them.
const (
	ScheduleActive  = "active"
	SchedulePaused  = "paused"
	ScheduleMissing = "missing" // registered, but Temporal has no such schedule
)

// ScheduleSummary is one line of `cfa schedule list`.
type ScheduleSummary struct {
	db.Schedule
	State   string       `json:"state"`
	Note    string       `json:"note,omitempty"`
	NextRun *time.Time   `json:"next_run,omitempty"`
	LastRun *ScheduleRun `json:"last_run,omitempty"`
}

// ScheduleRun is one run of a schedule as Temporal started it.
type ScheduleRun struct {
	IntentID     string    `json:"intent_id"`
	ScheduledFor time.Time `json:"scheduled_for"`
	StartedAt    time.Time `json:"started_at"`
}

// ListSchedules lists the registered schedules with their state in
// Temporal, by name.
func (s *Service) ListSchedules(ctx context.Context, limit int) ([]ScheduleSummary, error) {
	if err := s.needStore("schedule list"); err != nil {
		return nil, err
	}
	rows, err := s.Store.Schedules(ctx, limit)
	if err != nil {
		return nil, err
	}
	entries := map[string]*client.ScheduleListEntry{}
	it, err := s.Temporal.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 1000})
	if err != nil {
		return nil, fmt.Errorf("schedule list: list Temporal's schedules: %w", err)
	}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("schedule list: list Temporal's schedules: %w", err)
		}
		if strings.HasPrefix(e.ID, SchedulePrefix) {
			entries[e.ID] = e
		}
	}
	out := make([]ScheduleSummary, 0, len(rows))
	for _, r := range rows {
		sum := ScheduleSummary{Schedule: r, State: ScheduleMissing}
		e := entries[r.TemporalID]
		if e == nil {
			// The list is eventually consistent: a schedule just made
			// may not be in it yet.
			if d, err := s.Temporal.ScheduleClient().GetHandle(ctx, r.TemporalID).Describe(ctx); err == nil {
				e = &client.ScheduleListEntry{ID: r.TemporalID, Paused: d.Schedule.State.Paused, Note: d.Schedule.State.Note,
					NextActionTimes: d.Info.NextActionTimes, RecentActions: d.Info.RecentActions}
			}
		}
		if e != nil {
			sum.State, sum.Note = stateOf(e.Paused), e.Note
			if len(e.NextActionTimes) > 0 && !e.Paused {
				t := e.NextActionTimes[0].UTC()
				sum.NextRun = &t
			}
			if n := len(e.RecentActions); n > 0 {
				run := runOf(e.RecentActions[n-1])
				sum.LastRun = &run
			}
		}
		out = append(out, sum)
	}
	return out, nil
}

func stateOf(paused bool) string {
	if paused {
		return SchedulePaused
	}
	return ScheduleActive
}

func runOf(r client.ScheduleActionResult) ScheduleRun {
	run := ScheduleRun{ScheduledFor: r.ScheduleTime.UTC(), StartedAt: r.ActualTime.UTC()}
	if r.StartWorkflowResult != nil {
		run.IntentID = r.StartWorkflowResult.WorkflowID
	}
	return run
}

// ScheduleDescription is `cfa schedule describe`: the registry's row, the
// Temporal Schedule's state and next runs, the last runs with their
// decisions (from the intents index) and the standing approvals.
type ScheduleDescription struct {
	db.Schedule
	State          string      `json:"state"`
	Note           string      `json:"note,omitempty"`
	Overlap        string      `json:"overlap_policy"`
	CatchupWindow  string      `json:"catchup_window"`
	NextRuns       []time.Time `json:"next_runs"`
	Running        []string    `json:"running"`
	Actions        int         `json:"actions"`
	SkippedOverlap int         `json:"skipped_overlap"`
	// Runs are the last runs, newest first, with their decisions.
	Runs     []RunRecord           `json:"runs"`
	Standing []db.StandingApproval `json:"standing_approvals"`
}

// RunRecord is one run of a schedule in the intents index.
type RunRecord struct {
	IntentID      string    `json:"intent_id"`
	SubmittedAt   time.Time `json:"submitted_at"`
	Status        string    `json:"status"`
	DecisionState string    `json:"decision_state,omitempty"`
	Mode          string    `json:"confirmation_mode,omitempty"`
}

// DescribeSchedule describes schedule name with its last runs (at most
// runs, 10 when runs <= 0).
func (s *Service) DescribeSchedule(ctx context.Context, name string, runs int) (ScheduleDescription, error) {
	if err := ValidateScheduleName(name); err != nil {
		return ScheduleDescription{}, err
	}
	if err := s.needStore("schedule describe"); err != nil {
		return ScheduleDescription{}, err
	}
	row, err := s.Store.Schedule(ctx, name)
	if err != nil {
		return ScheduleDescription{}, err
	}
	out := ScheduleDescription{Schedule: row, State: ScheduleMissing, NextRuns: []time.Time{}, Running: []string{}, Runs: []RunRecord{}}
	d, err := s.Temporal.ScheduleClient().GetHandle(ctx, row.TemporalID).Describe(ctx)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
	case err != nil:
		return ScheduleDescription{}, fmt.Errorf("schedule describe %s: describe the Temporal Schedule %s: %w", name, row.TemporalID, err)
	default:
		if st := d.Schedule.State; st != nil {
			out.State, out.Note = stateOf(st.Paused), st.Note
		}
		if p := d.Schedule.Policy; p != nil {
			out.Overlap, out.CatchupWindow = strings.TrimPrefix(enumspb.ScheduleOverlapPolicy_name[int32(p.Overlap)], "SCHEDULE_OVERLAP_POLICY_"), p.CatchupWindow.String()
		}
		for _, t := range d.Info.NextActionTimes {
			out.NextRuns = append(out.NextRuns, t.UTC())
		}
		for _, w := range d.Info.RunningWorkflows {
			out.Running = append(out.Running, w.WorkflowID)
		}
		out.Actions, out.SkippedOverlap = d.Info.NumActions, d.Info.NumActionsSkippedOverlap
	}
	if runs <= 0 {
		runs = 10
	}
	intents, err := s.Store.IntentsOfCorrelation(ctx, db.ScheduleCorrelation(name), runs)
	if err != nil {
		return ScheduleDescription{}, err
	}
	for _, in := range intents {
		out.Runs = append(out.Runs, RunRecord{IntentID: in.IntentID, SubmittedAt: in.SubmittedAt, Status: in.Status, DecisionState: in.DecisionState, Mode: in.ConfirmationMode})
	}
	if out.Standing, err = s.Store.StandingApprovals(ctx, name, ""); err != nil {
		return ScheduleDescription{}, err
	}
	return out, nil
}

// PauseSchedule pauses schedule name (no period runs until unpaused) with
// the note reason, and records and audits it.
func (s *Service) PauseSchedule(ctx context.Context, name, reason string, by Caller) (db.Schedule, error) {
	return s.setPaused(ctx, name, true, reason, by)
}

// UnpauseSchedule resumes schedule name.
func (s *Service) UnpauseSchedule(ctx context.Context, name, reason string, by Caller) (db.Schedule, error) {
	return s.setPaused(ctx, name, false, reason, by)
}

func (s *Service) setPaused(ctx context.Context, name string, paused bool, reason string, by Caller) (db.Schedule, error) {
	op := map[bool]string{true: "schedule pause", false: "schedule unpause"}[paused]
	row, err := s.liveSchedule(ctx, op, name, by)
	if err != nil {
		return db.Schedule{}, err
	}
	if strings.TrimSpace(reason) == "" {
		reason = op + " by " + by.ID
	}
	h := s.Temporal.ScheduleClient().GetHandle(ctx, row.TemporalID)
	if paused {
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: reason})
	} else {
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: reason})
	}
	if err != nil {
		return db.Schedule{}, temporalScheduleError(op, name, row.TemporalID, err)
	}
	return s.Store.SetSchedulePaused(ctx, name, paused, reason, by.principal())
}

// TriggerSchedule starts one run of schedule name now (after the running
// one, if one runs), audited.
func (s *Service) TriggerSchedule(ctx context.Context, name, reason string, by Caller) error {
	row, err := s.liveSchedule(ctx, "schedule trigger", name, by)
	if err != nil {
		return err
	}
	if err := s.Temporal.ScheduleClient().GetHandle(ctx, row.TemporalID).Trigger(ctx, client.ScheduleTriggerOptions{Overlap: TriggerOverlap}); err != nil {
		return temporalScheduleError("schedule trigger", name, row.TemporalID, err)
	}
	return s.Store.RecordScheduleAction(ctx, name, db.ScheduleTriggered, reason, by.principal())
}

// Backfill is a backfill's range: whole UTC days, From to To inclusive.
type Backfill struct {
	From, To time.Time
	// Runs bounds how many periods the range holds (from the spec).
	Runs int `json:"runs"`
}

// ParseBackfill checks --from and --to (YYYY-MM-DD, from <= to, at most
// MaxBackfillDays days).
func ParseBackfill(from, to string) (Backfill, error) {
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	switch {
	case err1 != nil || err2 != nil:
		return Backfill{}, invalid(fmt.Errorf("schedule backfill: --from %q and --to %q must be dates YYYY-MM-DD", from, to))
	case t.Before(f):
		return Backfill{}, invalid(fmt.Errorf("schedule backfill: --to %s is before --from %s", to, from))
	case t.Sub(f) >= MaxBackfillDays*24*time.Hour:
		return Backfill{}, invalid(fmt.Errorf("schedule backfill: %s to %s is more than %d days: backfill in parts", from, to, MaxBackfillDays))
	}
	return Backfill{From: f, To: t}, nil
}

// BackfillSchedule runs schedule name once per period of its spec in the
// days from to to (inclusive, UTC), one after another, each as of its
// scheduled day. A range holding more than MaxBackfillRuns periods is
// refused (an --every 1m schedule over a week).
func (s *Service) BackfillSchedule(ctx context.Context, name, from, to string, by Caller) (Backfill, error) {
	b, err := ParseBackfill(from, to)
	if err != nil {
		return b, err
	}
	row, err := s.liveSchedule(ctx, "schedule backfill", name, by)
	if err != nil {
		return b, err
	}
	h := s.Temporal.ScheduleClient().GetHandle(ctx, row.TemporalID)
	d, err := h.Describe(ctx)
	if err != nil {
		return b, temporalScheduleError("schedule backfill", name, row.TemporalID, err)
	}
	days := int(b.To.Sub(b.From)/(24*time.Hour)) + 1
	if d.Schedule.Spec != nil {
		b.Runs = PeriodsIn(*d.Schedule.Spec, days)
	}
	if b.Runs > MaxBackfillRuns {
		return b, invalid(fmt.Errorf("schedule backfill %s: %s to %s holds up to %d periods of its spec, more than %d governed runs: backfill a shorter range", name, from, to, b.Runs, MaxBackfillRuns))
	}
	end := b.To.Add(24*time.Hour - time.Second)
	if err := h.Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{{Start: b.From, End: end, Overlap: BackfillOverlap}}}); err != nil {
		return b, temporalScheduleError("schedule backfill", name, row.TemporalID, err)
	}
	return b, s.Store.RecordScheduleAction(ctx, name, db.ScheduleBackfilled, fmt.Sprintf("%s to %s (up to %d runs)", from, to, b.Runs), by.principal())
}

// PeriodsIn bounds how many times spec matches in days whole days: per
// interval, a day's share of its period; per calendar (cron), the product
// of its seconds, minutes and hours per day.
func PeriodsIn(spec client.ScheduleSpec, days int) int {
	n := 0
	for _, iv := range spec.Intervals {
		if iv.Every > 0 {
			n += int((time.Duration(days)*24*time.Hour + iv.Every - 1) / iv.Every)
		}
	}
	for _, c := range spec.Calendars {
		n += days * values(c.Second, 1) * values(c.Minute, 1) * values(c.Hour, 1)
	}
	return n
}

// values counts the values of ranges (empty: def).
func values(rs []client.ScheduleRange, def int) int {
	if len(rs) == 0 {
		return def
	}
	n := 0
	for _, r := range rs {
		end, step := r.End, r.Step
		if end < r.Start {
			end = r.Start
		}
		if step <= 0 {
			step = 1
		}
		n += (end-r.Start)/step + 1
	}
	return n
}

// DeleteSchedule deletes the Temporal Schedule (runs already started go
// on to their decision) and the registry's schedule, revoking its
// standing approvals; it returns the revoked ones.
func (s *Service) DeleteSchedule(ctx context.Context, name, reason string, by Caller) ([]string, error) {
	row, err := s.liveSchedule(ctx, "schedule delete", name, by)
	if err != nil {
		return nil, err
	}
	err = s.Temporal.ScheduleClient().GetHandle(ctx, row.TemporalID).Delete(ctx)
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		return nil, temporalScheduleError("schedule delete", name, row.TemporalID, err)
	}
	return s.Store.DeleteSchedule(ctx, name, reason, by.principal())
}

// liveSchedule checks the name and the caller and reads the registry's row.
func (s *Service) liveSchedule(ctx context.Context, op, name string, by Caller) (db.Schedule, error) {
	if err := ValidateScheduleName(name); err != nil {
		return db.Schedule{}, err
	}
	if strings.TrimSpace(by.ID) == "" {
		return db.Schedule{}, invalid(fmt.Errorf("%s %s: say who does it (--by, default $USER): it is recorded in the audit trail", op, name))
	}
	if err := s.needStore(op); err != nil {
		return db.Schedule{}, err
	}
	return s.Store.Schedule(ctx, name)
}

func temporalScheduleError(op, name, id string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("%s %s: Temporal has no schedule %s (%w): `cfa schedule delete %s` removes it from the registry, then create it again", op, name, id, db.ErrScheduleNotFound, name)
	}
	return fmt.Errorf("%s %s: %w", op, name, err)
}

func shortSkillID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
