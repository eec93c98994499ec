package codegen_test

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/signature"
)

var backends = []codegen.Backend{codegen.Postgres{}, codegen.DBT{}}

// rehash re-signs an edited plan, as an attacker who can also hash would:
// validation against the catalog must still catch the edit.
func rehash(t *testing.T, p *planner.ExecutionPlan) {
	t.Helper()
	h, err := planner.HashPlan(*p)
	require.NoError(t, err)
	p.Hash = h
}

func TestGenerateRefusesTamperedPlans(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	tests := []struct {
		name   string
		edit   func(p *planner.ExecutionPlan)
		resign bool
		is     error
	}{
		{name: "edited_without_rehash", edit: func(p *planner.ExecutionPlan) { p.Steps[0].Params.Filter.From = "2020-01-01" }, is: codegen.ErrInvalidPlan},
		{name: "unknown_column_in_extract", resign: true, is: codegen.ErrUnknownColumn, edit: func(p *planner.ExecutionPlan) {
			p.Steps[0].Columns = append(p.Steps[0].Columns, planner.Column{Name: "senha", Type: "string"})
		}},
		{name: "unknown_column_in_load", resign: true, is: codegen.ErrUnknownColumn, edit: func(p *planner.ExecutionPlan) {
			p.Steps[4].Columns[2].Name = "cpf"
		}},
		{name: "identifier_injection", resign: true, is: codegen.ErrUnknownColumn, edit: func(p *planner.ExecutionPlan) {
			p.Steps[0].Columns[0].Name = `nfe_id"; DROP TABLE bronze.nfe; --`
		}},
		{name: "literal_injection", resign: true, is: codegen.ErrInvalidPlan, edit: func(p *planner.ExecutionPlan) {
			p.Steps[0].Params.Filter.From = "2026-01-01' OR '1'='1"
		}},
		{name: "join_column_not_in_input", resign: true, is: codegen.ErrUnknownColumn, edit: func(p *planner.ExecutionPlan) {
			p.Steps[3].Params.Join.RightColumn = "email"
		}},
		{name: "hash_renamed", resign: true, is: codegen.ErrInvalidPlan, edit: func(p *planner.ExecutionPlan) {
			p.Steps[2].Params.Hash[0].As = "cliente_id"
		}},
		{name: "append_mode", resign: true, is: codegen.ErrUnsupported, edit: func(p *planner.ExecutionPlan) {
			p.Steps[4].Params.Load.Mode = "append"
		}},
		{name: "unknown_step_kind", resign: true, is: codegen.ErrUnsupported, edit: func(p *planner.ExecutionPlan) {
			p.Steps[2].Kind = "python"
		}},
		{name: "step_id_injection", resign: true, is: codegen.ErrInvalidPlan, edit: func(p *planner.ExecutionPlan) {
			p.Steps[0].ID = `01_extract_nfe" AS (SELECT 1) --`
		}},
		// Enums are written into comments: a newline would end the comment
		// (SQL), and dbt renders Jinja even inside SQL comments.
		{name: "consistency_unit_injection", resign: true, is: codegen.ErrInvalidPlan, edit: func(p *planner.ExecutionPlan) {
			p.ConsistencyUnit = "partition\nDROP TABLE silver.silver_documentos; -- {{ run_query('DROP TABLE gold.x') }}"
		}},
		{name: "idempotence_injection", resign: true, is: codegen.ErrInvalidPlan, edit: func(p *planner.ExecutionPlan) {
			p.Steps[0].Idempotence = "merge_with_deterministic_key\nDROP TABLE bronze.nfe; --"
		}},
		{name: "append_declared", resign: true, is: codegen.ErrUnsupported, edit: func(p *planner.ExecutionPlan) {
			p.Steps[4].Idempotence = planner.AppendWithoutDedup
		}},
		{name: "join_strategy_injection", resign: true, is: codegen.ErrInvalidPlan, edit: func(p *planner.ExecutionPlan) {
			p.Steps[3].Params.Join.Strategy = "broadcast\nDROP TABLE bronze.clientes; --"
		}},
		{name: "load_layer_injection", resign: true, is: codegen.ErrInvalidPlan, edit: func(p *planner.ExecutionPlan) {
			p.Steps[4].Params.Load.Layer = `silver', post_hook='{{ run_query("DROP TABLE bronze.nfe") }}`
		}},
		{name: "load_into_another_schema", resign: true, is: codegen.ErrInvalidPlan, edit: func(p *planner.ExecutionPlan) {
			p.Steps[4].Params.Load.Layer = "public"
		}},
		{name: "partition_key_injection", resign: true, is: codegen.ErrInvalidPlan, edit: func(p *planner.ExecutionPlan) {
			p.Steps[4].Params.Load.PartitionKey = `processing_date'], post_hook=['{{ run_query("DROP TABLE bronze.nfe") }}`
		}},
	}
	for _, b := range backends {
		for _, tc := range tests {
			t.Run(b.Name()+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				p := planFor(t, cat, goldenCases[0])
				tc.edit(&p)
				if tc.resign {
					rehash(t, &p)
				}
				_, err := b.Generate(p, cat)
				require.ErrorIs(t, err, tc.is)
			})
		}
	}
}

// TestGenerateRefusesTamperedPublishPlans: only the publish-only template
// may lack a load, and it publishes the plan's own, catalogued target.
func TestGenerateRefusesTamperedPublishPlans(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	publish := goldenNamed(t, "publish_only_faturamento_uf")
	retarget := func(p *planner.ExecutionPlan, name string) {
		p.Target, p.Steps[0].Dataset, p.Steps[0].Params.Publish = name, name, name
	}
	tests := []struct {
		name string
		base goldenCase
		edit func(p *planner.ExecutionPlan)
	}{
		{name: "load_removed", base: goldenCases[0], edit: func(p *planner.ExecutionPlan) { p.Steps = p.Steps[:len(p.Steps)-1] }},
		{name: "publish_step_of_another_dataset", base: publish, edit: func(p *planner.ExecutionPlan) { p.Steps[0].Params.Publish = "silver_documentos" }},
		{name: "publish_of_an_uncatalogued_target", base: publish, edit: func(p *planner.ExecutionPlan) { retarget(p, "boletos") }},
		{name: "publish_target_injection", base: publish, edit: func(p *planner.ExecutionPlan) { retarget(p, `gold"; DROP TABLE gold.x; --`) }},
		{name: "publish_only_step_with_an_input", base: publish, edit: func(p *planner.ExecutionPlan) {
			p.Steps[0].Inputs = []string{"00_extract_nfe"}
		}},
	}
	for _, b := range backends {
		for _, tc := range tests {
			t.Run(b.Name()+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				p := planFor(t, cat, tc.base)
				tc.edit(&p)
				rehash(t, &p)
				_, err := b.Generate(p, cat)
				require.ErrorIs(t, err, codegen.ErrInvalidPlan)
			})
		}
	}
}

func TestGenerateRefusesAnotherCatalog(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	p := planFor(t, cat, goldenCases[0])
	other := *cat
	other.SnapshotVersion = "catalog_other"
	_, err := codegen.Postgres{}.Generate(p, &other)
	require.ErrorIs(t, err, codegen.ErrInvalidPlan)
}

// stripQuoted removes quoted identifiers, string literals and comments, so a
// keyword search sees only the SQL the generator wrote itself.
var quotedOrComment = regexp.MustCompile(`"[^"]*"|'[^']*'|--[^\n]*`)

func TestGeneratedCodeAvoidsForbiddenOperations(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	for _, b := range backends {
		ops := b.ForbiddenOperations()
		require.True(t, slices.IsSorted(ops), "%s: ForbiddenOperations must be sorted", b.Name())
		for _, gc := range goldenCases {
			p := planFor(t, cat, gc)
			load, hasLoad := p.LoadStep()
			art, err := b.Generate(p, cat)
			require.NoError(t, err)
			for _, f := range art.Files {
				if !strings.HasSuffix(f.Path, ".sql") {
					continue
				}
				bare := strings.ToLower(quotedOrComment.ReplaceAllString(f.Content, " "))
				if !hasLoad && !p.Read() {
					require.Empty(t, strings.TrimSpace(bare), "%s %s: a publish-only plan runs no code", b.Name(), gc.name)
					continue
				}
				for _, op := range ops {
					re := regexp.MustCompile(`(^|[^a-z_])` + regexp.QuoteMeta(strings.ToLower(op)) + `($|[^a-z_])`)
					require.False(t, re.MatchString(bare), "%s %s %s contains forbidden %q", b.Name(), gc.name, f.Path, op)
				}
				if q, ok := p.QueryStep(); ok {
					// A read writes nothing, and its SELECT returns raw PII
					// only under a mask.
					for _, w := range []string{"insert", "update", "delete", "merge"} {
						require.NotRegexp(t, `(^|[^a-z_])`+w+`($|[^a-z_])`, bare, "%s %s: a read writes nothing", b.Name(), gc.name)
					}
					sel := f.Content[strings.LastIndex(f.Content, "\n-- "+q.ID+":"):]
					for _, pii := range []string{`"email"`, `"cpf"`} {
						for _, line := range strings.Split(sel, "\n") {
							if strings.Contains(line, pii) {
								require.Contains(t, line, "sha256(convert_to("+pii, "%s %s returns raw PII: %s", b.Name(), gc.name, line)
							}
						}
					}
					continue
				}
				// Raw PII may be read (to hash it) but never written: the
				// statement that writes the target names no raw PII column.
				i := strings.LastIndex(f.Content, "\n-- "+load.ID+":")
				if b.Name() == "postgres" && load.Params.Load.Mode == planner.LoadPartitionOverwrite {
					i = strings.LastIndex(f.Content, "\nINSERT INTO ")
				}
				require.Positive(t, i, "%s %s: no write statement found", b.Name(), gc.name)
				for _, pii := range []string{`"email"`, `"cpf"`} {
					require.NotContains(t, f.Content[i:], pii, "%s %s writes raw PII", b.Name(), gc.name)
				}
			}
		}
	}
}

func TestPostgresCallsOnlyAllowedFunctions(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	call := regexp.MustCompile(`([a-z_][a-z0-9_]*)\(`)
	allowed := codegen.Postgres{}.AllowedFunctions()
	for _, gc := range goldenCases {
		art, err := codegen.Postgres{}.Generate(planFor(t, cat, gc), cat)
		require.NoError(t, err)
		bare := strings.ToLower(quotedOrComment.ReplaceAllString(art.Files[0].Content, " "))
		for _, m := range call.FindAllStringSubmatch(bare, -1) {
			if slices.Contains([]string{"in", "as", "on", "distinct", "values", "insert", "select", "and"}, m[1]) {
				continue // keywords before a parenthesis
			}
			require.Contains(t, allowed, m[1], gc.name)
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	r := rand.New(rand.NewPCG(3, 4))
	for _, b := range backends {
		for _, gc := range goldenCases {
			want, err := b.Generate(planFor(t, cat, gc), cat)
			require.NoError(t, err)
			for range 100 {
				sig, c := shuffle(r, gc.sig(cat), cat)
				p, err := planner.Plan(sig, c, gc.opts)
				require.NoError(t, err)
				got, err := b.Generate(p, c)
				require.NoError(t, err)
				require.Equal(t, want, got, "%s %s", b.Name(), gc.name)
			}
		}
	}
}

// shuffle permutes every order that carries no meaning in the inputs.
func shuffle(r *rand.Rand, sig signature.Signature, cat *catalog.Catalog) (signature.Signature, *catalog.Catalog) {
	s := sig
	s.Datasets = slices.Clone(sig.Datasets)
	r.Shuffle(len(s.Datasets), func(i, j int) { s.Datasets[i], s.Datasets[j] = s.Datasets[j], s.Datasets[i] })
	s.Operations = slices.Clone(sig.Operations)
	r.Shuffle(len(s.Operations), func(i, j int) { s.Operations[i], s.Operations[j] = s.Operations[j], s.Operations[i] })
	s.Constraints.Anonymize = slices.Clone(sig.Constraints.Anonymize)
	r.Shuffle(len(s.Constraints.Anonymize), func(i, j int) {
		s.Constraints.Anonymize[i], s.Constraints.Anonymize[j] = s.Constraints.Anonymize[j], s.Constraints.Anonymize[i]
	})
	c := *cat
	c.Datasets = slices.Clone(cat.Datasets)
	r.Shuffle(len(c.Datasets), func(i, j int) { c.Datasets[i], c.Datasets[j] = c.Datasets[j], c.Datasets[i] })
	return s, &c
}

func TestArtifactFilesSortedAndHashed(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	art, err := codegen.DBT{}.Generate(planFor(t, cat, goldenCases[0]), cat)
	require.NoError(t, err)
	paths := make([]string, len(art.Files))
	for i, f := range art.Files {
		paths[i] = f.Path
	}
	require.Equal(t, []string{"models/schema.yml", "models/silver_documentos.sql", "packages.yml"}, paths)
	require.Regexp(t, `^[0-9a-f]{64}$`, art.Hash)
	require.Equal(t, "dbt", art.Backend)
}

func TestPostgresType(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"string": "text", "decimal(18,2)": "numeric(18,2)", "int": "integer", "bigint": "bigint",
		"date": "date", "timestamp": "timestamp", "array<struct<a:int>>": "jsonb"} {
		got, err := codegen.PostgresType(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := codegen.PostgresType("decimal(18,2); DROP")
	require.ErrorIs(t, err, codegen.ErrUnsupported)
}

// BenchmarkPlanAndGenerate measures the whitepaper reconciliation intent
// from approved signature to Postgres script.
func BenchmarkPlanAndGenerate(b *testing.B) {
	cat := plannertest.Catalog()
	sig := plannertest.Reconciliation(cat)
	opts := planner.Options{AsOf: plannertest.AsOf}
	b.ReportAllocs()
	for b.Loop() {
		p, err := planner.Plan(sig, cat, opts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := (codegen.Postgres{}).Generate(p, cat); err != nil {
			b.Fatal(err)
		}
	}
}
