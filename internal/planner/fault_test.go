package planner_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

const defaultPlannerRemediation = "change the intent so a governed template fits it (one target, sources in the catalog), then resubmit"

func TestRefusalFault(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	opts := planner.Options{AsOf: plannertest.AsOf}
	planErr := func(edit func(*signature.Signature)) error {
		s := plannertest.Reconciliation(cat)
		edit(&s)
		_, err := planner.Plan(s, cat, opts)
		require.Error(t, err)
		return err
	}
	noMergeKey := planErr(func(s *signature.Signature) { s.Constraints.MergeKey = "" })
	var ce *planner.ConstraintError
	require.ErrorAs(t, noMergeKey, &ce, "fixture")
	require.NotEmpty(t, ce.Remediation, "fixture")

	cases := []struct {
		name        string
		err         error
		rule        string
		remediation []string
	}{
		{"a constraint error keeps its constraint and remediation", noMergeKey,
			planner.ConstraintMergeKeyRequired, []string{ce.Remediation}},
		{"wrapped twice, still found", fmt.Errorf("plan intent x: %w", noMergeKey),
			planner.ConstraintMergeKeyRequired, []string{ce.Remediation}},
		{"a constraint error without remediation gets the default", &planner.ConstraintError{Constraint: planner.ConstraintTargetLayer, Detail: "d"},
			planner.ConstraintTargetLayer, []string{defaultPlannerRemediation}},
		{"no template: no rule, the default remediation", planErr(func(s *signature.Signature) {
			s.Datasets = append(s.Datasets, signature.Dataset{Name: "gold_faturamento_uf", Role: signature.RoleTarget})
		}), "", []string{defaultPlannerRemediation}},
		{"a plain error", errors.New("boom"), "", []string{defaultPlannerRemediation}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := planner.RefusalFault(tc.err)
			require.Equal(t, fault.CodePlanConstraintViolated, f.Code)
			require.Equal(t, fault.SemanticFaults, f.Family)
			require.Equal(t, fault.SeverityHigh, f.Severity)
			require.Equal(t, fault.StageExecutionPlanner, f.Stage)
			require.True(t, f.DetectedBeforeExecution)
			require.Equal(t, "block", f.MandatoryAction)
			require.Equal(t, tc.err.Error(), f.Message)
			require.Equal(t, tc.rule, f.Rule)
			require.Equal(t, tc.remediation, f.Remediation)
		})
	}
}

// suppliedPlan is the plan of a signature completed by the Normalizer from
// the whitepaper's replanned reconciliation, and that signature's hash.
func suppliedPlan(t *testing.T) (planner.ExecutionPlan, string) {
	t.Helper()
	cat := plannertest.Catalog()
	res := resolution.ResolveStructured(plannertest.Reconciliation(cat), cat, registry.EnvironmentState{})
	require.True(t, res.Resolved, res.Reason)
	p, err := planner.Plan(res.Signature, cat, planner.Options{AsOf: plannertest.AsOf})
	require.NoError(t, err)
	h, err := res.Signature.Canonical().Hash()
	require.NoError(t, err)
	return p, h
}

func rehash(t *testing.T, p *planner.ExecutionPlan) {
	t.Helper()
	h, err := planner.HashPlan(*p)
	require.NoError(t, err)
	p.Hash = h
}

func TestCheckSupplied(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	good, sigHash := suppliedPlan(t)
	require.Nil(t, planner.CheckSupplied(good, sigHash, cat.SnapshotVersion), "an intact plan for this signature and catalog")

	cases := []struct {
		name string
		edit func(t *testing.T, p *planner.ExecutionPlan)
		want string
	}{
		{"edited after hashing", func(_ *testing.T, p *planner.ExecutionPlan) { p.Steps[0].Params.Filter = nil },
			"does not match its content"},
		{"edited after hashing, whatever else changed", func(_ *testing.T, p *planner.ExecutionPlan) {
			p.SignatureHash = "0000"
			p.CatalogSnapshotVersion = "catalog_old"
		}, "it was edited after hashing"},
		{"made for another signature", func(t *testing.T, p *planner.ExecutionPlan) {
			p.SignatureHash = "feedface"
			rehash(t, p)
		}, "the supplied plan was made for signature feedface, the approved signature is " + sigHash},
		{"made against another catalog", func(t *testing.T, p *planner.ExecutionPlan) {
			p.CatalogSnapshotVersion = "catalog_old"
			rehash(t, p)
		}, "the supplied plan was made against catalog_old, the catalog is " + cat.SnapshotVersion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, _ := suppliedPlan(t)
			tc.edit(t, &p)
			f := planner.CheckSupplied(p, sigHash, cat.SnapshotVersion)
			require.NotNil(t, f)
			require.Contains(t, f.Message, tc.want)
			require.Equal(t, fault.CodePlanConstraintViolated, f.Code)
			require.Equal(t, fault.SemanticFaults, f.Family)
			require.Equal(t, fault.SeverityCritical, f.Severity)
			require.Equal(t, fault.StageExecutionPlanner, f.Stage)
			require.True(t, f.DetectedBeforeExecution)
			require.Equal(t, "block", f.MandatoryAction)
			require.Equal(t, "supplied_plan_integrity", f.Rule)
			require.NotEmpty(t, f.Remediation)
		})
	}

	// The check is against the arguments: the intact plan is refused for
	// another approved signature or catalog.
	require.Contains(t, planner.CheckSupplied(good, "other", cat.SnapshotVersion).Message, "the approved signature is other")
	require.Contains(t, planner.CheckSupplied(good, sigHash, "catalog_new").Message, "the catalog is catalog_new")
}
