package staticcheck

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/fault"
)

// signedRules are fiscalRules with January 2026 signed on bronze.nfe and
// silver.silver_documentos (not bronze.nfe_itens).
func signedRules() Rules {
	r := opsRules()
	jan := Window{From: "2026-01-01", To: "2026-02-01"}
	r.SignedWindows = map[string]Window{"bronze.nfe": jan, "silver.silver_documentos": jan}
	return r
}

var outsideWindow = []Rule{RuleOutsideSignedWindow}

// TestStaticValidationBlocksReadsOutsideTheSignedWindow is finding 3 of
// issue 10 at the SQL level: code that reads or rewrites a partitioned
// table outside the window the signature signed is a Static Safety Fault,
// however the predicate is written, and a bound that is not a date constant
// proves nothing.
func TestStaticValidationBlocksReadsOutsideTheSignedWindow(t *testing.T) {
	t.Parallel()
	docs := "SELECT nfe_id FROM silver.silver_documentos WHERE "
	cases := []validateCase{
		{"inside/generated_merge_between", fiscalMerge, signedRules, pass},
		{"inside/string_literals", fiscalUpsert, signedRules, pass},
		{"inside/partition_overwrite_one_day", fiscalOverwrite, signedRules, pass},
		{"inside/narrower", docs + "processing_date >= DATE '2026-01-10' AND processing_date < DATE '2026-01-11'", signedRules, pass},
		{"inside/constants_on_the_left", docs + "DATE '2026-01-01' <= processing_date AND DATE '2026-02-01' > processing_date", signedRules, pass},
		{"inside/between_symmetric_reversed", docs + "processing_date BETWEEN SYMMETRIC '2026-01-31'::date AND '2026-01-01'::date", signedRules, pass},
		{"inside/in_list", docs + "processing_date IN (DATE '2026-01-05', '2026-01-06')", signedRules, pass},
		{"inside/or_of_bounded_ranges", docs + "(processing_date >= '2026-01-01' AND processing_date < '2026-01-03') OR processing_date = '2026-01-20'", signedRules, pass},
		{"inside/timestamp_cast", docs + "processing_date >= '2026-01-01'::timestamp AND processing_date < '2026-02-01'::timestamp", signedRules, pass},
		{"inside/bound_in_the_join", "SELECT d.nfe_id FROM silver.m m JOIN silver.silver_documentos d ON d.nfe_id = m.nfe_id AND d.processing_date >= '2026-01-02' AND d.processing_date < '2026-01-03'", signedRules, pass},
		{"inside/table_without_a_signed_window", "SELECT * FROM bronze.nfe_itens WHERE processing_date >= '2000-01-01'", signedRules, pass},

		{"outside/window_moved_to_2000_01_01", "SELECT nfe_id FROM bronze.nfe WHERE processing_date >= DATE '2000-01-01' AND processing_date < DATE '2026-02-01'", signedRules, outsideWindow},
		{"outside/window_to_9999_12_31", "SELECT nfe_id FROM bronze.nfe WHERE processing_date >= DATE '2026-01-01' AND processing_date < DATE '9999-12-31'", signedRules, outsideWindow},
		{"outside/window_shifted_same_length", "SELECT nfe_id FROM bronze.nfe WHERE processing_date BETWEEN '2000-01-01' AND '2000-01-31'", signedRules, outsideWindow},
		{"outside/inclusive_end_one_day_past", docs + "processing_date >= '2026-01-01' AND processing_date <= '2026-02-01'", signedRules, outsideWindow},
		{"outside/lower_bound_only", docs + "processing_date >= '2026-01-01'", signedRules, outsideWindow},
		{"outside/or_with_an_unbounded_branch", docs + "(processing_date >= '2026-01-01' AND processing_date < '2026-01-03') OR nfe_id = 1", signedRules, outsideWindow},
		{"outside/in_list_with_a_day_outside", docs + "processing_date IN ('2026-01-05', '2025-06-01')", signedRules, outsideWindow},
		{"outside/bound_not_a_date_constant", docs + "processing_date >= (SELECT min(d) FROM silver.cal) AND processing_date < '2026-02-01'", signedRules, outsideWindow},
		{"outside/bound_is_a_timestamp_with_a_time", docs + "processing_date >= '2026-01-01 00:00' AND processing_date < '2026-02-01'", signedRules, outsideWindow},
		{"outside/no_predicate", "SELECT nfe_id FROM silver.silver_documentos", signedRules, outsideWindow},
		{"outside/delete_wider_than_the_window", "DELETE FROM silver.silver_documentos WHERE processing_date >= '2025-01-01' AND processing_date < '2026-02-01'", signedRules, outsideWindow},
		{"outside/update_after_the_window", "UPDATE silver.silver_documentos SET uf = 'SP' WHERE processing_date = '2027-01-01'", signedRules, outsideWindow},
		// Named once, by the rule that explains it best.
		{"outside/unbounded_high_volume_is_an_unbounded_scan", "SELECT nfe_id FROM bronze.nfe", signedRules, scan},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Validate(tc.sql, tc.rules())
			require.Equal(t, tc.want, rulesOf(got), "violations: %+v", got.Violations)
			for _, v := range got.Violations {
				if v.Rule != RuleOutsideSignedWindow {
					continue
				}
				require.Equal(t, fault.CodeOutsideSignature, v.Fault.Code)
				require.Equal(t, fault.StaticSafetyFaults, v.Fault.Family)
				require.Equal(t, fault.SeverityCritical, v.Fault.Severity)
				require.Equal(t, "block", v.Fault.MandatoryAction)
				require.Contains(t, v.Message, "outside the signed window [2026-01-01, 2026-02-01)")
			}
		})
	}
}

func TestSignedWindowMessageNamesTheRangeRead(t *testing.T) {
	t.Parallel()
	r := Validate("SELECT nfe_id FROM bronze.nfe WHERE processing_date >= DATE '2000-01-01' AND processing_date < DATE '9999-12-31'", signedRules())
	require.Len(t, r.Violations, 1)
	v := r.Violations[0]
	require.Equal(t, "bronze.nfe is read on processing_date in [2000-01-01, 9999-12-31), outside the signed window [2026-01-01, 2026-02-01)", v.Message)
	require.Equal(t, strings.Index("SELECT nfe_id FROM bronze.nfe", "bronze.nfe"), v.Location)
}
