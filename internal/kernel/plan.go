package kernel

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/staticcheck"
)

// PlanInput is step 9's input. Supplied is a plan from an external
// planner: it replaces the governed plan as the code's source, and the
// governed plan still sets the rules its code is checked against
// (docs/adr/0075).
type PlanInput struct {
	Signed    Signed
	AsOf      string
	Composite bool
	Supplied  *planner.ExecutionPlan
	// RowLimit and Masking shape a read (docs/adr/0132, 0133): the most
	// rows it returns (0: planner.DefaultRowLimit) and the privacy wall's
	// masking of the policy bundle the signature was governed under.
	RowLimit int
	Masking  policy.Masking
}

// Planned is what the Execution Planner decided.
type Planned struct {
	// Plan is the plan the code is generated from: the planner's own, or
	// a supplied one that passed CheckSupplied.
	Plan *planner.ExecutionPlan
	// Governed is the planner's own plan when Plan was supplied.
	Governed *planner.ExecutionPlan
	// Conformance is planner.Conformance's finding on a supplied plan
	// (Verify against the signature and catalog, Conform to Governed),
	// applied after Static Validation has judged its code.
	Conformance *fault.Fault
	// ReadOnly: the intent neither reads nor writes a dataset, so there
	// is nothing to plan (docs/adr/0077); a read is planned
	// (docs/adr/0132).
	ReadOnly bool
	// Refusal is why the planner refused the signature, or a supplied plan
	// before any code exists; it blocks.
	Refusal *fault.Fault
}

// Plan runs the Execution Planner (step 9). A signature no template can
// satisfy is a Refusal, not an error; options the planner cannot read
// (an as_of that is no date) are ErrInvalidInput.
func Plan(in PlanInput, cat *catalog.Catalog) (Planned, error) {
	var out Planned
	sig := in.Signed.Signature
	read := planner.IsRead(sig)
	if len(sig.Targets()) == 0 && !read && in.Supplied == nil {
		out.ReadOnly = true
		return out, nil
	}
	if read && in.Supplied != nil {
		f := planner.RefusalFault(fmt.Errorf("%w: a read plans its own query (docs/adr/0132): submit it without a plan", planner.ErrNoTemplate))
		out.Refusal = &f
		return out, nil
	}
	p, err := planner.Plan(sig, cat, planner.Options{AsOf: in.AsOf, Composite: in.Composite, RowLimit: in.RowLimit, Masks: ReadMasks(sig, cat, in.Masking)})
	switch {
	case errors.Is(err, planner.ErrInvalidOptions):
		return out, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	case err != nil:
		f := planner.RefusalFault(err)
		out.Refusal = &f
	case in.Supplied != nil:
		if out.Refusal = planner.CheckSupplied(*in.Supplied, in.Signed.Hash, cat.SnapshotVersion); out.Refusal == nil {
			// Checked against the signature, the catalog and the governed
			// plan before any code exists; Static Validation applies the
			// finding after judging the code (docs/adr/0075, 0112).
			out.Plan, out.Governed = in.Supplied, &p
			out.Conformance = planner.Conformance(*in.Supplied, p, in.Signed.Signature, cat)
		}
	default:
		out.Plan = &p
	}
	return out, nil
}

// PlanVote is a refusal's vote: blocked by the authority that refused.
func PlanVote(by decision.Authority, f fault.Fault) decision.Vote {
	return decision.Vote{Authority: by, Outcome: decision.Blocked, Reason: f.Message, Faults: []fault.Fault{f}}
}

// Code is the generated code of a plan: the Postgres artifact is what the
// sandbox runs and Static Validation analyses; the others (dbt, and the
// custom_template_library's) are artifacts for users who run elsewhere.
type Code struct {
	Postgres codegen.Artifact   `json:"postgres"`
	Others   []codegen.Artifact `json:"others,omitempty"`
}

// Artifacts lists every artifact, Postgres first.
func (c Code) Artifacts() []codegen.Artifact {
	return append([]codegen.Artifact{c.Postgres}, c.Others...)
}

// Script is the Postgres artifact as one script.
func (c Code) Script() string {
	var b strings.Builder
	for _, f := range c.Postgres.Files {
		b.WriteString(f.Content)
	}
	return b.String()
}

// Record is the CODE_GENERATED event of the code.
func (c Code) Record(planHash string) events.CodeGenerated {
	rec := events.CodeGenerated{PlanHash: planHash, Artifacts: map[string]events.Artifact{}}
	for _, art := range c.Artifacts() {
		files := make([]string, len(art.Files))
		for j, f := range art.Files {
			files[j] = f.Path
		}
		rec.Artifacts[art.Backend] = events.Artifact{Hash: art.Hash, Files: files}
	}
	return rec
}

// Generate renders the plan with the Postgres backend, then with each of
// the others (a backend named postgres among them is skipped: the shipped
// one is what runs). The first backend that refuses the plan returns its
// refusal, which blocks.
func Generate(p planner.ExecutionPlan, cat *catalog.Catalog, others []codegen.Backend) (Code, *fault.Fault) {
	backends := []codegen.Backend{codegen.Postgres{}}
	for _, b := range others {
		if b.Name() != (codegen.Postgres{}).Name() {
			backends = append(backends, b)
		}
	}
	var out Code
	for i, b := range backends {
		art, err := b.Generate(p, cat)
		if err != nil {
			f := codegen.RefusalFault(b.Name(), err)
			return out, &f
		}
		if i == 0 {
			out.Postgres = art
		} else {
			out.Others = append(out.Others, art)
		}
	}
	return out, nil
}

// Static is Static Validation's verdict (step 10).
type Static struct {
	// Report is nil for a publish-only plan: no statement to analyse.
	Report *staticcheck.Report
	// Refused is a supplied plan found outside the governed envelope: the
	// audit trail records it as EXECUTION_PLAN_REFUSED.
	Refused     *fault.Fault
	PublishOnly bool
	Votes       []decision.Vote
	Stop        bool
	Summary     string
}

// StaticInput is what Static Validation judges: the plan whose code would
// run, the governed plan when that one was supplied, its conformance
// finding, and the Postgres artifact.
type StaticInput struct {
	Plan        *planner.ExecutionPlan
	Governed    *planner.ExecutionPlan
	Conformance *fault.Fault
	DryRun      bool
	Code        Code
}

// ValidateStatic runs Static Validation on the Postgres artifact against
// the governed plan's rules (I6) and applies a supplied plan's
// conformance. A dry run stops here.
func ValidateStatic(in StaticInput, cat *catalog.Catalog) (Static, error) {
	p, code := in.Plan, in.Code
	if p == nil {
		return Static{}, fmt.Errorf("static validation: %w: no plan; run the Execution Planner first", ErrInvalidInput)
	}
	planned := decision.Vote{Authority: decision.AuthorityExecutionPlanner, Outcome: decision.Approved, Reason: "plan " + p.Hash}
	if p.PublishOnly() && in.Governed == nil {
		return Static{PublishOnly: true, Votes: []decision.Vote{planned}, Stop: in.DryRun,
			Summary: "no statement to analyse: publish-only plan"}, nil
	}
	governed := *p
	if in.Governed != nil {
		governed = *in.Governed
	}
	rulesOf, err := staticRules(governed, cat)
	if err != nil {
		return Static{}, fmt.Errorf("static validation: %w: %w", ErrInvalidInput, err)
	}
	rep := staticcheck.Report{Passed: true, Violations: []staticcheck.Violation{}}
	for _, f := range code.Postgres.Files {
		r := staticcheck.Validate(f.Content, rulesOf(f.Path))
		rep.Passed = rep.Passed && r.Passed
		rep.Violations = append(rep.Violations, r.Violations...)
	}
	out := Static{Report: &rep}
	f := in.Conformance
	if g := in.Governed; f == nil && g != nil {
		// Again here: the plan whose code was judged stays inside the
		// governed envelope (docs/adr/0112).
		if err := planner.Conform(*p, *g); err != nil {
			ff := planner.RefusalFault(err)
			f = &ff
		}
	}
	// A supplied plan whose code is safe may still not be the approved
	// signature's plan; one outside the signed envelope is a Static Safety
	// Fault.
	out.Refused = f
	switch {
	case !rep.Passed:
		out.Summary = "blocked: " + strings.Join(rep.Violated(), ", ")
		v := rep.Vote(code.Postgres.Hash)
		if f != nil {
			v.Faults = append(v.Faults, *f)
		}
		out.Votes, out.Stop = []decision.Vote{v}, true
	case f != nil:
		by := decision.AuthorityExecutionPlanner
		if f.Family == fault.StaticSafetyFaults {
			by = decision.AuthorityStaticValidation
		}
		out.Summary = "supplied plan refused: " + f.Message
		out.Votes, out.Stop = []decision.Vote{PlanVote(by, *f)}, true
	default:
		out.Summary = "passed"
		out.Votes = []decision.Vote{planned, rep.Vote(code.Postgres.Hash)}
		out.Stop = in.DryRun
	}
	return out, nil
}

// ReadMasks is the mask of every raw PII column a read's sources hold, by
// "dataset.column", as the privacy wall's masking says (docs/adr/0133);
// nil for a signature that writes.
func ReadMasks(sig signature.Signature, cat *catalog.Catalog, m policy.Masking) map[string]planner.Mask {
	if !planner.IsRead(sig) {
		return nil
	}
	out := map[string]planner.Mask{}
	for _, d := range sig.Sources() {
		pii := slices.Clone(d.PII)
		if cd, ok := cat.Get(d.Name); ok {
			pii = append(pii, cd.PII...)
		}
		for _, c := range pii {
			out[d.Name+"."+c] = planner.Mask(m.Rule(d.Name, c))
		}
	}
	return out
}
