package lifecycle_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/lifecycle"
)

func whitepaperYAML(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("testdata/promotion_policy.yaml")
	require.NoError(t, err)
	return string(data)
}

func TestWhitepaperPolicyYAMLIsTheDefault(t *testing.T) {
	p, err := lifecycle.ParsePolicy([]byte(whitepaperYAML(t)))
	require.NoError(t, err)
	require.Equal(t, lifecycle.DefaultPolicy(), p)
	require.NoError(t, p.Validate())
}

func TestDefaultPolicyIsTheWhitepapers(t *testing.T) {
	p := lifecycle.DefaultPolicy()
	require.Equal(t, 3, p.MinExecutions)
	require.Equal(t, "last_7_days", p.EvaluationWindow)
	require.Equal(t, map[string]string{"fiscal": "last_3_days", "master_data": "last_30_days", "operational": "last_7_days"}, p.ByDomain)
	require.Equal(t, lifecycle.Thresholds{IFo: 0.75, IFs: 0.90, IFg: 1.0}, p.Thresholds)
	require.Equal(t, 0.75, p.IDIWatchlist)
	require.Equal(t, 0.50, p.IDIDemotion)
}

func TestParsePolicyWithoutEvaluationWindowBlock(t *testing.T) {
	doc := whitepaperYAML(t)
	doc = doc[strings.Index(doc, "promotion_policy:"):]
	p, err := lifecycle.ParsePolicy([]byte(doc))
	require.NoError(t, err)
	require.Equal(t, "last_7_days", p.EvaluationWindow)
	require.Empty(t, p.ByDomain)
	name, d, err := p.Window("fiscal")
	require.NoError(t, err)
	require.Equal(t, "last_7_days", name)
	require.Equal(t, 7*24*time.Hour, d)
}

func TestParsePolicyErrors(t *testing.T) {
	wp := whitepaperYAML(t)
	edit := func(old, new string) string {
		require.Contains(t, wp, old)
		return strings.Replace(wp, old, new, 1)
	}
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"not yaml", "promotion_policy: [\n", "parse promotion_policy"},
		{"no promotion_policy", "evaluation_window:\n  default: last_7_days\n", "no promotion_policy: mapping"},
		{"unknown key", edit("  min_executions: 3", "  max_executions: 9\n  min_executions: 3"), "field max_executions not found"},
		{"missing min_executions", edit("  min_executions: 3 # minimum number of successful executions\n", ""), "min_executions is missing"},
		{"missing IFs", edit("    IFs: 0.90\n", ""), "thresholds.IFo, thresholds.IFs or thresholds.IFg is missing"},
		{"windows disagree", edit("evaluation_window: last_7_days # within", "evaluation_window: last_5_days # within"), `"last_5_days" and evaluation_window.default "last_7_days" disagree`},
		{"gate changed", edit("IFg = 1 AND", "IFg >= 0.5 AND"), "gate \"IFo >= T1 AND IFs >= T2 AND IFg >= 0.5"},
		{"promotion unit", edit("type: intent_signature_hash", "type: semantic_similarity"), `promotion_unit.type "semantic_similarity"`},
		{"IFg lowered", edit("IFg: 1.0", "IFg: 0.9"), "thresholds.IFg is 0.9; it must be 1.0"},
		{"IFo above 1", edit("IFo: 0.75", "IFo: 75"), "thresholds.IFo is 75"},
		{"zero executions", edit("min_executions: 3", "min_executions: 0"), "min_executions is 0"},
		{"bad domain window", edit("fiscal: last_3_days", "fiscal: last_week"), `evaluation_window.by_domain.fiscal: invalid promotion_policy: evaluation window "last_week" is not last_N_days`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lifecycle.ParsePolicy([]byte(tc.doc))
			require.ErrorIs(t, err, lifecycle.ErrInvalidPolicy)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*lifecycle.Policy)
		want []string
	}{
		{"default", func(*lifecycle.Policy) {}, nil},
		{"demotion equals watchlist", func(p *lifecycle.Policy) { p.IDIDemotion = p.IDIWatchlist }, nil},
		{"min executions", func(p *lifecycle.Policy) { p.MinExecutions = -1 }, []string{"min_executions is -1"}},
		{"default window", func(p *lifecycle.Policy) { p.EvaluationWindow = "7d" }, []string{"evaluation_window.default", `"7d" is not last_N_days`}},
		{"zero days", func(p *lifecycle.Policy) { p.EvaluationWindow = "last_0_days" }, []string{"give N between 1 and 3650 days"}},
		{"too many days", func(p *lifecycle.Policy) { p.ByDomain = map[string]string{"x": "last_99999_days"} }, []string{"evaluation_window.by_domain.x", "between 1 and 3650"}},
		{"empty domain", func(p *lifecycle.Policy) { p.ByDomain = map[string]string{"": "last_1_days"} }, []string{"empty domain name"}},
		{"negative IFs", func(p *lifecycle.Policy) { p.Thresholds.IFs = -0.1 }, []string{"thresholds.IFs is -0.1"}},
		{"IFg zero", func(p *lifecycle.Policy) { p.Thresholds.IFg = 0 }, []string{"thresholds.IFg is 0; it must be 1.0"}},
		{"IDI inverted", func(p *lifecycle.Policy) { p.IDIDemotion = 0.9 }, []string{"demotion 0.9", "0 <= demotion <= watchlist <= 1"}},
		{"every problem at once", func(p *lifecycle.Policy) { p.MinExecutions = 0; p.Thresholds.IFo = 2 }, []string{"min_executions is 0", "thresholds.IFo is 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := lifecycle.DefaultPolicy()
			tc.edit(&p)
			err := p.Validate()
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, lifecycle.ErrInvalidPolicy)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestWindowByDomain(t *testing.T) {
	p := lifecycle.DefaultPolicy()
	for _, tc := range []struct {
		domain, name string
		days         int
	}{
		{"fiscal", "last_3_days", 3},
		{"master_data", "last_30_days", 30},
		{"operational", "last_7_days", 7},
		{"marketing", "last_7_days", 7}, // not listed: default
		{"", "last_7_days", 7},
	} {
		t.Run(tc.domain, func(t *testing.T) {
			name, d, err := p.Window(tc.domain)
			require.NoError(t, err)
			require.Equal(t, tc.name, name)
			require.Equal(t, time.Duration(tc.days)*24*time.Hour, d)
		})
	}
	p.ByDomain["fiscal"] = "last_three_days"
	_, _, err := p.Window("fiscal")
	require.ErrorContains(t, err, "evaluation_window.by_domain.fiscal")
	p.EvaluationWindow = "forever"
	_, _, err = p.Window("marketing")
	require.ErrorContains(t, err, "evaluation_window.default")
}
