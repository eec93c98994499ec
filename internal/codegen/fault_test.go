package codegen_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
)

// TestRefusalFaultOfEveryBackend: a backend that refuses an edited plan
// yields a critical static safety fault naming the backend, with its error.
func TestRefusalFaultOfEveryBackend(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	for _, b := range backends {
		t.Run(b.Name(), func(t *testing.T) {
			t.Parallel()
			p, err := planner.Plan(plannertest.Reconciliation(cat), cat, planner.Options{AsOf: plannertest.AsOf})
			require.NoError(t, err)
			p.Steps[0].Params.Filter.From = "2020-01-01" // edited without rehash
			_, err = b.Generate(p, cat)
			require.ErrorIs(t, err, codegen.ErrInvalidPlan, "fixture")

			f := codegen.RefusalFault(b.Name(), err)
			require.Equal(t, fault.CodeCodeGenerationRefused, f.Code)
			require.Equal(t, fault.StaticSafetyFaults, f.Family)
			require.Equal(t, fault.SeverityCritical, f.Severity)
			require.Equal(t, fault.StageStaticValidation, f.Stage)
			require.True(t, f.DetectedBeforeExecution)
			require.Equal(t, "block", f.MandatoryAction)
			require.Equal(t, b.Name(), f.Rule, "the rule names the backend that refused")
			require.Equal(t, err.Error(), f.Message)
			require.NotEmpty(t, f.Remediation)
		})
	}
}
