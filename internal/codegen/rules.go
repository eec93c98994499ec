package codegen

import (
	"fmt"
	"slices"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/staticcheck"
)

// StaticRules are the rules static validation checks the Postgres script of
// plan against (whitepaper 5.6, ADRs 0066 to 0069):
//   - HighVolumeTables: every dataset an extract step reads whose catalog
//     classification is high_volume, so a dropped or misplaced filter in the
//     plan is still caught;
//   - TemporalColumns: the catalog partition_key of every partitioned
//     dataset the plan reads or loads;
//   - SignedWindows: the plan's window on each of those tables partitioned
//     by its column, so code that reads or rewrites outside the window the
//     signature signed is caught (ADR 0112). Derive the rules from the
//     governed plan, never from a supplied one (ADR 0075);
//   - TargetTable, TargetLayer: the load's target (empty for a publish-only
//     plan, which writes nothing);
//   - ExpectedColumns, ForbiddenColumns: the plan's contract;
//   - AllowedFunctions: Postgres.AllowedFunctions;
//   - ReadOnly and MaxRows for a read plan (docs/adr/0132): SELECT only,
//     bounded by its row limit plus the one row that tells a truncated
//     result; its contract expects the query's columns and forbids the raw
//     PII names of every source, masked or not asked for.
//
// Tables are named "<layer>.<name>" unquoted: the backend renders them as
// q(layer, name), "bronze"."nfe", and staticcheck compares the parser's
// unquoted schema and relation names, case-folded, with the rule's. The
// catalog allows only lower-case plain identifiers, so the two agree. The
// temporal columns and classifications come from the catalog, not the plan;
// the contract comes from the plan, so verify the plan (planner.Verify)
// before trusting it.
func (Postgres) StaticRules(plan planner.ExecutionPlan, cat *catalog.Catalog) (staticcheck.Rules, error) {
	if cat == nil {
		return staticcheck.Rules{}, fmt.Errorf("static rules for plan %s: %w: no catalog given", plan.Hash, ErrInvalidPlan)
	}
	if plan.CatalogSnapshotVersion != cat.SnapshotVersion {
		return staticcheck.Rules{}, fmt.Errorf("static rules for plan %s: %w: plan was made against %s, catalog is %s: plan again",
			plan.Hash, ErrInvalidPlan, plan.CatalogSnapshotVersion, cat.SnapshotVersion)
	}
	sc := &scope{plan: plan, cat: cat}
	r := staticcheck.Rules{
		TemporalColumns:  map[string]string{},
		ExpectedColumns:  slices.Clone(plan.Contract.ExpectedColumns),
		ForbiddenColumns: slices.Clone(plan.Contract.ForbiddenColumns),
		AllowedFunctions: Postgres{}.AllowedFunctions(),
	}
	temporal := func(d catalog.Dataset) {
		if d.PartitionKey != "" {
			r.TemporalColumns[relationName(d)] = d.PartitionKey
		}
		if w := plan.Window; w != nil && d.PartitionKey == w.Column {
			if r.SignedWindows == nil {
				r.SignedWindows = map[string]staticcheck.Window{}
			}
			r.SignedWindows[relationName(d)] = staticcheck.Window{From: w.From, To: w.To}
		}
	}
	for _, s := range plan.Steps {
		switch s.Kind {
		case planner.KindExtract:
			d, err := sc.dataset(s.Dataset)
			if err != nil {
				return staticcheck.Rules{}, fmt.Errorf("static rules for plan %s: step %s: %w", plan.Hash, s.ID, err)
			}
			if d.Classification == "high_volume" && !slices.Contains(r.HighVolumeTables, relationName(d)) {
				r.HighVolumeTables = append(r.HighVolumeTables, relationName(d))
			}
			temporal(d)
		case planner.KindLoad:
			if s.Params.Load == nil {
				return staticcheck.Rules{}, fmt.Errorf("static rules for plan %s: step %s: %w: load without params.load", plan.Hash, s.ID, ErrInvalidPlan)
			}
			d, err := sc.dataset(s.Params.Load.Target)
			if err != nil {
				return staticcheck.Rules{}, fmt.Errorf("static rules for plan %s: step %s: %w", plan.Hash, s.ID, err)
			}
			r.TargetTable, r.TargetLayer = relationName(d), staticcheck.Layer(d.Layer)
			temporal(d)
		case planner.KindQuery:
			if s.Params.Query == nil {
				return staticcheck.Rules{}, fmt.Errorf("static rules for plan %s: step %s: %w: query without params.query", plan.Hash, s.ID, ErrInvalidPlan)
			}
			r.ReadOnly, r.MaxRows = true, int64(s.Params.Query.Limit)+1
		case planner.KindPublish:
			// Publishing is the registry's, after the commit: no table to check,
			// but the dataset must still be the catalog's.
			if _, err := sc.dataset(s.Dataset); err != nil {
				return staticcheck.Rules{}, fmt.Errorf("static rules for plan %s: step %s: %w", plan.Hash, s.ID, err)
			}
		}
	}
	slices.Sort(r.HighVolumeTables)
	return r, nil
}

// relationName is a table as static validation names it: "<layer>.<name>",
// the unquoted form of the q(layer, name) the backend emits.
func relationName(d catalog.Dataset) string { return d.Layer + "." + d.Name }
