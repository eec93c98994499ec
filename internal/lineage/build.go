package lineage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/revalidation"
	"github.com/contextualflux/cfa/internal/signature"
)

// Outcomes of the receipts that start a run.
const (
	outcomePublished = "published"
	outcomeProjected = "projected"
)

// The data plane's schema of a layer's published views (dataplane.PublishedSuffix).
const publishedSuffix = "_published"

// Options are what the events need besides the trail.
type Options struct {
	// Namespace is the jobs' namespace (CFA_OPENLINEAGE_NAMESPACE);
	// empty: DefaultNamespace.
	Namespace string
	// Producer is the producer URI of the events and facets; empty:
	// DefaultProducer.
	Producer string
	// DatasetNamespace is the data plane's namespace in OpenLineage's
	// naming, "postgres://host:port"; empty: DefaultDatasetNamespace.
	DatasetNamespace string
	// Database is the data plane's database, the first part of a dataset
	// name ("cfa.silver.silver_documentos"); empty: the name starts at the
	// schema.
	Database string
}

func (o Options) withDefaults() Options {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Producer == "" {
		o.Producer = DefaultProducer
	}
	if o.DatasetNamespace == "" {
		o.DatasetNamespace = DefaultDatasetNamespace
	}
	return o
}

// table is the OpenLineage name of a data plane relation.
func (o Options) table(schema, name string) string {
	n := name
	if schema != "" {
		n = schema + "." + n
	}
	if o.Database != "" {
		n = o.Database + "." + n
	}
	return n
}

func (o Options) base(schemaURL string) BaseFacet {
	return BaseFacet{Producer: o.Producer, SchemaURL: schemaURL}
}

// Emission is one run event and the receipt it reports: an emitter sends
// the events whose receipt it has just seen sealed.
type Emission struct {
	ReceiptID string
	Event     RunEvent
}

// Execution is what an intent's trail says about its execution: the
// signature, plan and code that ran, the receipt that started the run and
// the decision, when recorded.
type Execution struct {
	IntentID      string
	CorrelationID string
	// Signature is the last signature signed before the run started; its
	// datasets are what the run reads and writes.
	Signature signature.Signature
	// SignatureHash is the hash of the signature that was planned (after
	// the Policy Engine's replans), PlanHash and CodeHash what ran.
	SignatureHash string
	PlanHash      string
	CodeHash      string
	// Target is the plan's target; PublishOnly: the run published it.
	Target      string
	PublishOnly bool
	// ProjectedVersionID is the snapshot the projection committed.
	ProjectedVersionID string
	// Decision is the DECISION, once recorded.
	Decision *events.Decision

	policyBundle string
	sigSeq       int64
	start        audit.Receipt
	decided      audit.Receipt
	receipts     []audit.Receipt // by seq
}

// Read returns what the receipts of one intent say about its execution,
// or nil when the intent has not started a run (it never executed, or not
// yet). The receipts may come in any order; a receipt whose details do not
// decode is an error.
func Read(trail []audit.Receipt) (*Execution, error) {
	rs := slices.Clone(trail)
	slices.SortStableFunc(rs, func(a, b audit.Receipt) int { return int(a.Seq() - b.Seq()) })
	rs = slices.CompactFunc(rs, func(a, b audit.Receipt) bool { return a.Seq() == b.Seq() })
	x := &Execution{receipts: rs}
	started := false
	for _, r := range rs {
		if x.IntentID == "" {
			x.IntentID, x.CorrelationID = r.IntentID(), r.Context[audit.CtxCorrelationID]
		}
		outcome := r.Context[audit.CtxOutcome]
		switch r.EventType() {
		case audit.EventSignatureGenerated:
			if started {
				continue
			}
			var p events.SignatureGenerated
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			x.Signature, x.SignatureHash, x.sigSeq = p.Signature, p.IntentSignatureHash, r.Seq()
			x.PlanHash, x.CodeHash, x.Target = "", "", ""
		case audit.EventExecutionPlanned:
			if started {
				continue
			}
			var p events.ExecutionPlanGenerated
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			x.PlanHash, x.Target = p.PlanHash, p.Target
			if p.IntentSignatureHash != "" {
				x.SignatureHash = p.IntentSignatureHash
			}
		case audit.EventCodeAnalysis:
			if started {
				continue
			}
			var p events.CodeAnalysis
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			x.CodeHash = p.CodeHash
		case audit.EventRevalidation:
			if !started && outcome == string(revalidation.Proceed) {
				started, x.start = true, r
			}
		case audit.EventEnvironmentUpdate:
			switch {
			case outcome == outcomePublished && !started:
				started, x.start, x.PublishOnly = true, r, true
			case outcome == outcomeProjected:
				var p events.EnvironmentProjected
				if err := decode(r, &p); err != nil {
					return nil, err
				}
				x.ProjectedVersionID = p.VersionID
			}
		case audit.EventDecision:
			if !started || x.Decision != nil {
				continue
			}
			var p events.Decision
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			x.Decision, x.decided = &p, r
		}
	}
	if !started {
		return nil, nil
	}
	x.policyBundle = x.Signature.ExecutionContext.PolicyBundleVersion
	if x.policyBundle == "" {
		x.policyBundle = x.start.Context[audit.CtxPolicyBundleVersion]
	}
	return x, nil
}

// Reports says whether an event may report r: a revalidation that lets
// the units run, a publication, a decision. An emitter reads the trail of
// an intent only when one of these is sealed.
func Reports(r audit.Receipt) bool {
	outcome := r.Context[audit.CtxOutcome]
	switch r.EventType() {
	case audit.EventDecision:
		return true
	case audit.EventRevalidation:
		return outcome == string(revalidation.Proceed)
	case audit.EventEnvironmentUpdate:
		return outcome == outcomePublished
	}
	return false
}

func decode(r audit.Receipt, v any) error {
	if err := json.Unmarshal([]byte(r.Context[audit.CtxDetails]), v); err != nil {
		return fmt.Errorf("lineage: read the details of receipt %s (%s): %w", r.ReceiptID, r.EventType(), err)
	}
	return nil
}

// Terminal is the transition a decision ends a run with: COMPLETE when it
// lets what depends on the intent go on, ABORT when the intent was
// cancelled, FAIL otherwise.
func Terminal(d events.Decision) EventType {
	switch {
	case decision.Succeeded(d.DecisionState):
		return Complete
	case slices.Contains(d.Faults, fault.CodeIntentCancelled):
		return Abort
	}
	return Fail
}

// runNamespace is the UUID namespace of the run ids of intents whose id
// does not carry a UUID.
var runNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/contextualflux/cfa/intent"))

// RunID is the OpenLineage runId of an intent: the UUID of an intent id
// "intent-<uuid>" (the time-ordered UUIDv7 the service assigns), else the
// UUIDv5 of the intent id (sub-intents, ids chosen by a client).
func RunID(intentID string) string {
	if s, ok := strings.CutPrefix(intentID, "intent-"); ok && len(s) == 36 {
		if id, err := uuid.Parse(s); err == nil {
			return id.String()
		}
	}
	return uuid.NewSHA1(runNamespace, []byte(intentID)).String()
}

// JobName is the job an intent is a run of: its domain, intent and target
// ("fiscal_data_processing.reconciliation_and_persist.silver_documentos"),
// the same for every run of the same work.
func (x *Execution) JobName() string {
	var parts []string
	for _, p := range []string{x.Signature.Domain, x.Signature.Intent, x.target()} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "intent"
	}
	return strings.Join(parts, ".")
}

// target is the plan's target, else the signature's.
func (x *Execution) target() string {
	if x.Target != "" {
		return x.Target
	}
	if ts := x.Signature.Targets(); len(ts) > 0 {
		return ts[0].Name
	}
	return ""
}

// Build reads the trail and returns its events (nil when the intent has
// not started a run).
func Build(opts Options, trail []audit.Receipt, cat *catalog.Catalog, plan *planner.ExecutionPlan) ([]Emission, error) {
	x, err := Read(trail)
	if x == nil || err != nil {
		return nil, err
	}
	return x.Events(opts, cat, plan), nil
}

// Events are the run's events so far: START, then COMPLETE, FAIL or ABORT
// once the decision is recorded. cat gives the datasets' layers and
// columns; plan, when it is the plan that ran (its hash is PlanHash), the
// datasets read and the columns' lineage. Without it the datasets are the
// signature's and the outputs carry no column lineage.
func (x *Execution) Events(opts Options, cat *catalog.Catalog, plan *planner.ExecutionPlan) []Emission {
	opts = opts.withDefaults()
	if plan != nil && (x.PlanHash == "" || plan.Hash != x.PlanHash) {
		plan = nil
	}
	inputs, outputs := x.datasets(opts, cat, plan)
	job := Job{Namespace: opts.Namespace, Name: x.JobName(), Facets: JobFacets{JobType: &JobTypeFacet{
		BaseFacet: opts.base(JobTypeFacetURL), ProcessingType: "BATCH", Integration: "CFA", JobType: "INTENT",
	}}}
	event := func(t EventType, r audit.Receipt, facets RunFacets) Emission {
		return Emission{ReceiptID: r.ReceiptID, Event: RunEvent{
			EventType: t, EventTime: r.Timestamp.UTC().Format(time.RFC3339Nano),
			Run: Run{RunID: RunID(x.IntentID), Facets: facets}, Job: job,
			Inputs: inputs, Outputs: outputs, Producer: opts.Producer, SchemaURL: RunEventSchemaURL,
		}}
	}
	out := []Emission{event(Start, x.start, RunFacets{Governance: x.governance(opts, x.start, nil)})}
	if x.Decision == nil {
		return out
	}
	t := Terminal(*x.Decision)
	facets := RunFacets{Governance: x.governance(opts, x.decided, x.Decision)}
	if t != Complete {
		msg := string(x.Decision.DecisionState)
		if x.Decision.Reason != "" {
			msg += ": " + x.Decision.Reason
		}
		if len(x.Decision.Faults) > 0 {
			msg += " (faults: " + strings.Join(x.Decision.Faults, ", ") + ")"
		}
		facets.ErrorMessage = &ErrorMessageFacet{BaseFacet: opts.base(ErrorMessageFacetURL), Message: msg, ProgrammingLanguage: "SQL"}
	}
	return append(out, event(t, x.decided, facets))
}

// governance is the cfa_governance facet of the event reporting r.
func (x *Execution) governance(opts Options, r audit.Receipt, d *events.Decision) *GovernanceFacet {
	ec := x.Signature.ExecutionContext
	g := &GovernanceFacet{
		BaseFacet: opts.base(GovernanceFacetURL), IntentID: x.IntentID, CorrelationID: x.CorrelationID, TraceID: r.Context[audit.CtxTraceID],
		IntentSignatureHash: x.SignatureHash, PlanHash: x.PlanHash, CodeHash: x.CodeHash,
		PolicyBundleVersion: x.policyBundle, CatalogSnapshotVersion: ec.CatalogSnapshotVersion, RegistryVersionID: ec.RegistryVersionID,
		ReceiptID: r.ReceiptID, ReceiptIDs: []string{},
	}
	through := r.Seq()
	for _, rr := range x.receipts {
		seq := rr.Seq()
		switch {
		case seq >= x.sigSeq && seq <= through:
		case d != nil && seq > through && rr.EventType() == audit.EventIntentCompleted:
		default:
			continue
		}
		g.ReceiptIDs = append(g.ReceiptIDs, rr.ReceiptID)
	}
	if d == nil {
		return g
	}
	g.DecisionState, g.DecidedBy, g.Reason, g.Faults = string(d.DecisionState), d.DecidedBy, d.Reason, d.Faults
	g.ProjectedVersionID = x.ProjectedVersionID
	if d.PlanHash != "" {
		g.PlanHash = d.PlanHash
	}
	if d.CodeHash != "" {
		g.CodeHash = d.CodeHash
	}
	return g
}

// datasets are the run's inputs and outputs: a publish-only run reads its
// target's table and writes its published view; any other run reads the
// plan's extracts (else the signature's sources) and writes its target.
func (x *Execution) datasets(opts Options, cat *catalog.Catalog, plan *planner.ExecutionPlan) (inputs, outputs []Dataset) {
	layerOf := func(name string) (catalog.Dataset, string) {
		if cat != nil {
			if d, ok := cat.Get(name); ok {
				return d, d.Layer
			}
		}
		for _, d := range x.Signature.Datasets {
			if d.Name == name {
				return catalog.Dataset{}, d.Layer
			}
		}
		return catalog.Dataset{}, ""
	}
	dataset := func(name, schemaSuffix string) Dataset {
		d, layer := layerOf(name)
		out := Dataset{Namespace: opts.DatasetNamespace, Name: opts.table(layer+schemaSuffix, name)}
		if len(d.Columns) > 0 {
			f := &SchemaFacet{BaseFacet: opts.base(SchemaFacetURL), Fields: make([]SchemaField, len(d.Columns))}
			for i, c := range d.Columns {
				f.Fields[i] = SchemaField{Name: c.Name, Type: c.Type}
			}
			out.Facets.Schema = f
		}
		return out
	}
	target := x.target()
	if x.PublishOnly {
		in, out := dataset(target, ""), dataset(target, publishedSuffix)
		if out.Facets.Schema != nil {
			cl := &ColumnLineageFacet{BaseFacet: opts.base(ColumnLineageFacetURL), Fields: map[string]ColumnLineageField{}}
			for _, f := range out.Facets.Schema.Fields {
				cl.Fields[f.Name] = ColumnLineageField{InputFields: []InputField{{
					Namespace: in.Namespace, Name: in.Name, Field: f.Name, Transformations: []Transformation{direct("")},
				}}}
			}
			out.Facets.ColumnLineage = cl
		}
		return []Dataset{in}, []Dataset{out}
	}
	var sources []string
	if plan != nil {
		for _, s := range plan.Steps {
			if s.Kind == planner.KindExtract && !slices.Contains(sources, s.Dataset) {
				sources = append(sources, s.Dataset)
			}
		}
	}
	if len(sources) == 0 {
		for _, d := range x.Signature.Datasets {
			if d.Role == signature.RoleSource && !slices.Contains(sources, d.Name) {
				sources = append(sources, d.Name)
			}
		}
	}
	inputs = []Dataset{}
	for _, s := range sources {
		inputs = append(inputs, dataset(s, ""))
	}
	outputs = []Dataset{}
	if target != "" {
		out := dataset(target, "")
		if plan != nil {
			out.Facets.ColumnLineage = columnLineage(opts, plan, func(name string) Dataset { return dataset(name, "") })
		}
		outputs = append(outputs, out)
	}
	return inputs, outputs
}

// columnLineage is the load's columns traced to their source columns
// (planner.Column.Origin), and the source columns its joins, filters and
// groupings read.
func columnLineage(opts Options, plan *planner.ExecutionPlan, dataset func(string) Dataset) *ColumnLineageFacet {
	load, ok := plan.LoadStep()
	if !ok {
		return nil
	}
	names := map[string]Dataset{}
	field := func(origin string, t Transformation) (InputField, bool) {
		ds, col, ok := strings.Cut(origin, ".")
		if !ok || ds == "" || col == "" {
			return InputField{}, false
		}
		d, seen := names[ds]
		if !seen {
			d = dataset(ds)
			names[ds] = d
		}
		return InputField{Namespace: d.Namespace, Name: d.Name, Field: col, Transformations: []Transformation{t}}, true
	}
	cl := &ColumnLineageFacet{BaseFacet: opts.base(ColumnLineageFacetURL), Fields: map[string]ColumnLineageField{}}
	for _, c := range load.Columns {
		if f, ok := field(c.Origin, direct(c.Transform)); ok {
			cl.Fields[c.Name] = ColumnLineageField{InputFields: []InputField{f}}
		}
	}
	indirect := func(origin, subtype string) {
		f, ok := field(origin, Transformation{Type: "INDIRECT", Subtype: subtype})
		if ok && !slices.ContainsFunc(cl.Dataset, func(g InputField) bool {
			return g.Name == f.Name && g.Field == f.Field && g.Transformations[0] == f.Transformations[0]
		}) {
			cl.Dataset = append(cl.Dataset, f)
		}
	}
	for _, s := range plan.Steps {
		switch {
		case s.Kind == planner.KindExtract && s.Params.Filter != nil:
			indirect(s.Dataset+"."+s.Params.Filter.Column, "FILTER")
		case s.Kind == planner.KindJoin && s.Params.Join != nil:
			j := s.Params.Join
			indirect(j.LeftDataset+"."+j.LeftColumn, "JOIN")
			indirect(j.RightDataset+"."+j.RightColumn, "JOIN")
		case s.Kind == planner.KindAggregate && len(s.Inputs) > 0:
			in, ok := plan.Step(s.Inputs[0])
			if !ok {
				continue
			}
			for _, g := range s.Params.GroupBy {
				for _, c := range in.Columns {
					if c.Name == g {
						indirect(c.Origin, "GROUP_BY")
					}
				}
			}
		}
	}
	return cl
}

// direct is how a column's value reaches the output through transform
// (planner.Transform*): copied, hashed (masking), summed or counted.
func direct(transform string) Transformation {
	switch transform {
	case "":
		return Transformation{Type: "DIRECT", Subtype: "IDENTITY"}
	case planner.TransformSHA256:
		return Transformation{Type: "DIRECT", Subtype: "TRANSFORMATION", Description: transform, Masking: true}
	case planner.TransformSum:
		return Transformation{Type: "DIRECT", Subtype: "AGGREGATION", Description: transform}
	case planner.TransformCount:
		return Transformation{Type: "DIRECT", Subtype: "AGGREGATION", Description: transform, Masking: true}
	}
	return Transformation{Type: "DIRECT", Subtype: "TRANSFORMATION", Description: transform}
}

// Marshal encodes an event as compact JSON, without HTML escaping: the
// same event gives the same bytes.
func Marshal(e RunEvent) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("lineage: encode the %s event of run %s: %w", e.EventType, e.Run.RunID, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
