package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/planner"
)

// Steps 9 and 10: the Execution Planner, code generation and Static
// Validation.

func (r *run) planStep() error {
	r.asOf = r.req.AsOf
	if r.asOf == "" {
		// Relative windows resolved against the day the planner ran (the
		// workflow's time, which its event records).
		if e, ok := r.peek(); ok && (e.Type == audit.EventExecutionPlanned || e.Type == audit.EventPlanningFailed) {
			r.asOf = e.At.UTC().Format(time.DateOnly)
		}
	}
	if r.asOf != "" && r.res.Inputs.AsOf == "" {
		r.res.Inputs.AsOf = r.asOf
	}
	masking := r.bundle.Masking
	if b, ok := r.rec.Bundles[r.signed.Signature.ExecutionContext.PolicyBundleVersion]; ok {
		masking = b.Masking // the read masks as the signed bundle says
	}
	k, err := kernel.Plan(kernel.PlanInput{Signed: r.signed, AsOf: r.asOf, Composite: r.req.Composite, Supplied: r.req.Plan,
		RowLimit: r.req.RowLimit, Masking: masking}, r.cat)
	if err != nil {
		return r.differ(intent.StagePlanner, "error", "(none)", err.Error())
	}
	r.plan = k
	rec, recorded := r.rec.Plans[r.signed.Hash]
	switch {
	case k.ReadOnly:
		if !recorded || !rec.ReadOnly {
			return r.differ(intent.StagePlanner, "read_only", fmt.Sprint(recorded && rec.ReadOnly), "true")
		}
		r.same(intent.StagePlanner, "read-only: nothing to plan", "read-only: nothing to plan")
		r.stopped = true
		return nil
	case k.Refusal != nil:
		e, ok, err := r.take(intent.StagePlanner, false, audit.EventPlanningFailed)
		if err != nil || !ok {
			return err
		}
		if err := r.compare(intent.StagePlanner, e.Details, events.ExecutionPlanRefused{Fault: *k.Refusal}, "refused: "+k.Refusal.Code); err != nil {
			return err
		}
		r.stop(kernel.PlanVote(decision.AuthorityExecutionPlanner, *k.Refusal))
		return nil
	}
	e, ok, err := r.take(intent.StagePlanner, false, audit.EventExecutionPlanned)
	if err != nil || !ok {
		return err
	}
	var got events.ExecutionPlanGenerated
	if err := e.decode(&got); err != nil {
		return err
	}
	p := *k.Plan
	if got.PlanHash != p.Hash {
		// Name the field that changed the hash, not the hash itself.
		if recorded && len(rec.Plan) > 0 {
			var unhashed planner.ExecutionPlan
			if json.Unmarshal(rec.Plan, &unhashed) == nil {
				unhashed.Hash = ""
				mine := p
				mine.Hash = ""
				if path, a, b, differs := firstDiff(mustJSON(unhashed), mustJSON(mine)); differs {
					return r.differ(intent.StagePlanner, "plan."+path, a, b)
				}
			}
		}
		return r.differ(intent.StagePlanner, "plan_hash", got.PlanHash, p.Hash)
	}
	if recorded && len(rec.Plan) > 0 {
		// The plan as stored (json, not jsonb: the bytes as hashed).
		if b := mustJSON(p); !bytes.Equal(compact(rec.Plan), b) {
			path, a, c, _ := firstDiff(rec.Plan, b)
			return r.differ(intent.StagePlanner, "plan."+path, a, c)
		}
	}
	r.same(intent.StagePlanner, got.PlanHash, p.Hash)
	r.planHash = p.Hash
	return nil
}

// generate is step 9's code generation: the shipped backends run again; a
// custom_template_library backend's artifact is its recorded answer.
func (r *run) generate() error {
	p := *r.plan.Plan
	e, ok, err := r.take(intent.StageCodeGen, false, audit.EventCodeGenerated)
	if err != nil || !ok {
		return err
	}
	others, err := r.backends(e)
	if err != nil {
		return err
	}
	code, refusal := kernel.Generate(p, r.cat, others)
	if refusal != nil {
		if err := r.compare(intent.StageCodeGen, e.Details, events.CodeGenerationRefused{Fault: *refusal}, "refused: "+refusal.Code); err != nil {
			return err
		}
		r.stop(kernel.PlanVote(decision.AuthorityStaticValidation, *refusal))
		return nil
	}
	var got events.CodeGenerated
	if err := e.decode(&got); err != nil {
		return err
	}
	if want := got.Artifacts[code.Postgres.Backend].Hash; want != code.Postgres.Hash {
		if art, ok := r.recordedArtifact(code.Postgres.Backend); ok {
			path, line := r.codeDiff(art, code.Postgres)
			return r.differ(intent.StageCodeGen, path, line[0], line[1])
		}
		return r.differ(intent.StageCodeGen, "artifacts.postgres.hash", want, code.Postgres.Hash)
	}
	if err := r.compare(intent.StageCodeGen, e.Details, code.Record(p.Hash), code.Postgres.Hash); err != nil {
		return err
	}
	if rec, ok := r.rec.Plans[r.signed.Hash]; ok && rec.CodeHash != "" && rec.CodeHash != code.Postgres.Hash {
		return r.differ(intent.StageCodeGen, "code_hash", rec.CodeHash, code.Postgres.Hash)
	}
	r.code, r.codeHash = code, code.Postgres.Hash
	return nil
}

// backends are the backends besides Postgres, in the order they ran: the
// planning record lists their artifacts in that order.
func (r *run) backends(e event) ([]codegen.Backend, error) {
	names := r.recordedBackends()
	if len(names) == 0 {
		var got events.CodeGenerated
		if err := e.decode(&got); err == nil {
			for n := range got.Artifacts {
				names = append(names, n)
			}
			slices.Sort(names)
		}
	}
	var refusal *fault.Fault
	if e.Outcome == "refused" {
		var f events.CodeGenerationRefused
		if err := e.decode(&f); err != nil {
			return nil, err
		}
		refusal = &f.Fault
	}
	var out []codegen.Backend
	for _, n := range names {
		switch n {
		case codegen.Postgres{}.Name():
		case codegen.DBT{}.Name():
			out = append(out, codegen.DBT{})
		default:
			art, _ := r.recordedArtifact(n)
			r.answer(intent.StageCodeGen, "custom_template_library backend "+n+": its artifact, as recorded")
			b := recordedBackend{name: n}
			if art.Backend != "" {
				b.art = &art
			}
			out = append(out, b)
		}
	}
	if refusal != nil && !strings.HasPrefix(refusal.Rule, codegen.Postgres{}.Name()) && !strings.HasPrefix(refusal.Rule, codegen.DBT{}.Name()) {
		r.answer(intent.StageCodeGen, "a custom_template_library backend refused the plan, as recorded")
	}
	return out, nil
}

func (r *run) recordedBackends() []string {
	rec, ok := r.rec.Plans[r.signed.Hash]
	if !ok || len(rec.Artifacts) == 0 {
		return nil
	}
	var arts []codegen.Artifact
	if json.Unmarshal(rec.Artifacts, &arts) != nil {
		return nil
	}
	names := make([]string, 0, len(arts))
	for _, a := range arts {
		names = append(names, a.Backend)
	}
	return names
}

func (r *run) recordedArtifact(backend string) (codegen.Artifact, bool) {
	rec, ok := r.rec.Plans[r.signed.Hash]
	if !ok || len(rec.Artifacts) == 0 {
		return codegen.Artifact{}, false
	}
	var arts []codegen.Artifact
	if json.Unmarshal(rec.Artifacts, &arts) != nil {
		return codegen.Artifact{}, false
	}
	for _, a := range arts {
		if a.Backend == backend {
			return a, true
		}
	}
	return codegen.Artifact{}, false
}

// codeDiff names the first line where two artifacts differ.
func (r *run) codeDiff(recorded, replayed codegen.Artifact) (string, [2]string) {
	for i := range max(len(recorded.Files), len(replayed.Files)) {
		var a, b codegen.File
		if i < len(recorded.Files) {
			a = recorded.Files[i]
		}
		if i < len(replayed.Files) {
			b = replayed.Files[i]
		}
		if a.Path != b.Path {
			return fmt.Sprintf("artifacts.%s.files[%d].path", replayed.Backend, i), [2]string{a.Path, b.Path}
		}
		if a.Content != b.Content {
			line, x, y := firstLineDiff(a.Content, b.Content)
			return fmt.Sprintf("artifacts.%s.%s:%d", replayed.Backend, a.Path, line), [2]string{x, y}
		}
	}
	return "artifacts." + replayed.Backend + ".hash", [2]string{recorded.Hash, replayed.Hash}
}

// validate is step 10.
func (r *run) validate() error {
	k, err := kernel.ValidateStatic(kernel.StaticInput{Plan: r.plan.Plan, Governed: r.plan.Governed, Conformance: r.plan.Conformance,
		DryRun: r.req.DryRun, Code: r.code}, r.cat)
	if err != nil {
		return r.differ(intent.StageStatic, "error", "(none)", err.Error())
	}
	if k.PublishOnly {
		r.publishOnly = true
		r.same(intent.StageStatic, k.Summary, k.Summary)
	} else {
		e, ok, err := r.take(intent.StageStatic, false, audit.EventCodeAnalysis)
		if err != nil || !ok {
			return err
		}
		rep := k.Report
		if err := r.compare(intent.StageStatic, e.Details, events.CodeAnalysis{CodeHash: r.code.Postgres.Hash, Passed: rep.Passed, Violations: rep.Violations}, k.Summary); err != nil {
			return err
		}
		if f := k.Refused; f != nil {
			e, ok, err := r.take(intent.StageStatic, false, audit.EventPlanningFailed)
			if err != nil || !ok {
				return err
			}
			if err := r.compare(intent.StagePlanner, e.Details, events.ExecutionPlanRefused{Fault: *f}, "supplied plan refused: "+f.Code); err != nil {
				return err
			}
		}
	}
	r.votes = append(r.votes, k.Votes...)
	r.stopped = r.stopped || k.Stop
	return nil
}
