package codegen

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/planner"
)

// DBT renders a plan as a dbt project fragment for users who run elsewhere
// (dbt-postgres 1.8+, Postgres 15+): models/<target>.sql, an incremental
// model whose unique_key is the plan's deterministic key, and
// models/schema.yml with the sources and an enforced contract of the
// expected columns, not_null and unique tests on the key. A composite key's
// uniqueness test comes from dbt_utils, pinned in packages.yml. A
// publish-only plan gives models/schema.yml alone, declaring the published
// table as a source (docs/adr/0073). A cross_dataset_atomic plan gives
// one model per target and one schema.yml (docs/adr/0138); a micro_batch
// plan's model covers its whole window: dbt runs it as one batch.
type DBT struct {
	// own renders a cross_dataset_atomic plan's own target only.
	own bool
}

var _ Backend = DBT{}

// Name implements Backend.
func (DBT) Name() string { return "dbt" }

// ForbiddenOperations implements Backend: the SQL of the Postgres backend,
// plus the dbt settings that append, rebuild or run arbitrary SQL.
func (DBT) ForbiddenOperations() []string {
	ops := append(Postgres{}.ForbiddenOperations(),
		"--full-refresh", "incremental_strategy='append'", "materialized='table'",
		"post_hook", "pre_hook", "run_query", "on_schema_change='sync_all_columns'")
	slices.Sort(ops)
	return ops
}

// Generate implements Backend.
func (d DBT) Generate(plan planner.ExecutionPlan, cat *catalog.Catalog) (Artifact, error) {
	sc, err := validate(plan, cat)
	if err != nil {
		return Artifact{}, fmt.Errorf("generate %s for plan %s: %w", d.Name(), plan.Hash, err)
	}
	if plan.Read() {
		return d.generateRead(sc)
	}
	if !d.own && len(plan.Parts) > 0 {
		return d.generateParts(plan, cat)
	}
	load, ok := plan.LoadStep()
	if !ok {
		// Publish only (ADR 0073): no model to build, only the source the
		// published table is read through downstream.
		schema, err := d.publishYAML(sc)
		if err != nil {
			return Artifact{}, fmt.Errorf("generate %s for plan %s: %w", d.Name(), plan.Hash, err)
		}
		return newArtifact(d.Name(), plan.Hash, []File{{Path: "models/schema.yml", Content: schema}}), nil
	}
	l := load.Params.Load
	target, _ := cat.Get(l.Target)

	r := renderer{sc: sc, relation: dbtRelation}
	var m strings.Builder
	strategy, uniqueKey := "merge", load.Params.Key
	if l.Mode == planner.LoadPartitionOverwrite {
		// delete+insert on the partition key replaces every partition the
		// window produced rows for (docs/adr/0063).
		strategy, uniqueKey = "delete+insert", []string{l.PartitionKey}
	}
	fmt.Fprintf(&m, "{{\n  config(\n    materialized='incremental',\n    incremental_strategy='%s',\n    unique_key=[%s],\n    on_schema_change='fail',\n    schema='%s'\n  )\n}}\n",
		strategy, quoteList(uniqueKey), l.Layer)
	r.header(&m, "--", d.Name())
	r.ctes(&m, load.ID)
	exprs := make([]string, len(load.Columns))
	for i, c := range load.Columns {
		tc := target.Columns[slices.IndexFunc(target.Columns, func(x catalog.Column) bool { return x.Name == c.Name })]
		pt, err := PostgresType(tc.Type)
		if err != nil {
			return Artifact{}, fmt.Errorf("generate %s for plan %s: column %s: %w", d.Name(), plan.Hash, c.Name, err)
		}
		// The cast makes the model's types the contract's, which dbt enforces.
		exprs[i] = fmt.Sprintf("cast(%s as %s) as %s", q(c.Name), pt, q(c.Name))
	}
	fmt.Fprintf(&m, "-- %s: %s, %s\nselect %s\nfrom %s\n", load.ID, load.Kind, load.Idempotence, strings.Join(exprs, ",\n  "), q(load.Inputs[0]))
	r.trailer(&m, "--")

	schema, err := d.schemaYAML(sc, load, target)
	if err != nil {
		return Artifact{}, fmt.Errorf("generate %s for plan %s: %w", d.Name(), plan.Hash, err)
	}
	files := []File{
		{Path: "models/" + l.Target + ".sql", Content: m.String()},
		{Path: "models/schema.yml", Content: schema},
	}
	if len(load.Params.Key) > 1 {
		files = append(files, File{Path: "packages.yml", Content: "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.1.0\", \"<2.0.0\"]\n"})
	}
	return newArtifact(d.Name(), plan.Hash, files), nil
}

type dbtSchema struct {
	Version int         `yaml:"version"`
	Sources []dbtSource `yaml:"sources"`
	Models  []dbtModel  `yaml:"models,omitempty"` // none for a publish-only plan
}

type dbtSource struct {
	Name   string     `yaml:"name"`
	Schema string     `yaml:"schema"`
	Tables []dbtTable `yaml:"tables"`
}

type dbtTable struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
}

type dbtModel struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Config      dbtConfig   `yaml:"config"`
	DataTests   []any       `yaml:"data_tests,omitempty"`
	Columns     []dbtColumn `yaml:"columns"`
}

type dbtConfig struct {
	Contract struct {
		Enforced bool `yaml:"enforced"`
	} `yaml:"contract"`
}

type dbtColumn struct {
	Name      string   `yaml:"name"`
	DataType  string   `yaml:"data_type"`
	DataTests []string `yaml:"data_tests,omitempty"`
}

type uniqueCombination struct {
	Test struct {
		Columns []string `yaml:"combination_of_columns"`
	} `yaml:"dbt_utils.unique_combination_of_columns"`
}

// dbtRelation names a source table in a dbt model.
func dbtRelation(ds catalog.Dataset) string {
	return "{{ source('" + ds.Layer + "', '" + ds.Name + "') }}" // both matched identRE in validate
}

// dbtSources declares the tables the plan's extract steps read, by layer.
func dbtSources(sc *scope) []dbtSource {
	var sources []dbtSource
	for _, s := range sc.plan.Steps {
		if s.Kind != planner.KindExtract {
			continue
		}
		ds, _ := sc.cat.Get(s.Dataset)
		i := slices.IndexFunc(sources, func(x dbtSource) bool { return x.Name == ds.Layer })
		if i < 0 {
			sources = append(sources, dbtSource{Name: ds.Layer, Schema: ds.Layer})
			i = len(sources) - 1
		}
		sources[i].Tables = append(sources[i].Tables, dbtTable{Name: ds.Name})
	}
	slices.SortFunc(sources, func(a, b dbtSource) int { return strings.Compare(a.Name, b.Name) })
	for i := range sources {
		slices.SortFunc(sources[i].Tables, func(a, b dbtTable) int { return strings.Compare(a.Name, b.Name) })
	}
	return sources
}

func (DBT) schemaYAML(sc *scope, load planner.Step, target catalog.Dataset) (string, error) {
	sources := dbtSources(sc)
	key := load.Params.Key
	model := dbtModel{
		Name:        target.Name,
		Description: "Generated by cfa codegen from plan " + sc.plan.Hash + "; do not edit: plan again.",
	}
	model.Config.Contract.Enforced = true
	for _, c := range load.Columns {
		tc := target.Columns[slices.IndexFunc(target.Columns, func(x catalog.Column) bool { return x.Name == c.Name })]
		pt, err := PostgresType(tc.Type)
		if err != nil {
			return "", fmt.Errorf("column %s: %w", c.Name, err)
		}
		col := dbtColumn{Name: c.Name, DataType: pt}
		if slices.Contains(key, c.Name) {
			col.DataTests = []string{"not_null"}
			if len(key) == 1 {
				col.DataTests = append(col.DataTests, "unique")
			}
		}
		model.Columns = append(model.Columns, col)
	}
	if len(key) > 1 {
		var u uniqueCombination
		u.Test.Columns = slices.Clone(key)
		model.DataTests = []any{u}
	}
	return encodeSchema(dbtSchema{Version: 2, Sources: sources, Models: []dbtModel{model}}, "")
}

// publishYAML declares the published table as a dbt source, so downstream
// models read it with {{ source('layer', 'table') }}. Publishing itself is
// the workflow's registry update after the commit, as in the SQL backend.
func (DBT) publishYAML(sc *scope) (string, error) {
	ds, _ := sc.cat.Get(sc.plan.Target) // validated with the publish step
	src := dbtSource{Name: ds.Layer, Schema: ds.Layer, Tables: []dbtTable{{Name: ds.Name,
		Description: "Published by cfa from plan " + sc.plan.Hash + "; do not edit: plan again."}}}
	note := "# " + sc.plan.Steps[0].ID + ": publish runs in the workflow after the commit (Context Registry), not in dbt; no model is built.\n"
	return encodeSchema(dbtSchema{Version: 2, Sources: []dbtSource{src}}, note)
}

func encodeSchema(s dbtSchema, note string) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return "", fmt.Errorf("encode schema.yml: %w", err)
	}
	return "# Generated by cfa codegen (backend dbt). Do not edit: plan again.\n" + note + buf.String(), nil
}

// quoteList renders names as a Jinja list of string literals; every name
// matched identRE, so it holds no quote.
func quoteList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "'" + n + "'"
	}
	return strings.Join(out, ", ")
}
