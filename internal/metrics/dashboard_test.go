package metrics_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/contextualflux/cfa/internal/api"
	"github.com/contextualflux/cfa/internal/metrics"
)

// dashboardFile is the Grafana dashboard docker-compose.yaml provisions.
var dashboardFile = filepath.Join("..", "..", "deploy", "grafana", "cfa-dashboard.json")

// exprs returns every PromQL expression of the dashboard, with the title
// of its panel, rows' nested panels included.
func exprs(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	type panel struct {
		Title   string  `json:"title"`
		Type    string  `json:"type"`
		Panels  []panel `json:"panels"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	}
	var d struct {
		UID    string  `json:"uid"`
		Panels []panel `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &d))
	require.NotEmpty(t, d.UID)
	out := map[string][]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
			for _, tg := range p.Targets {
				require.NotEmpty(t, strings.TrimSpace(tg.Expr), "panel %q has an empty query", p.Title)
				out[p.Title] = append(out[p.Title], tg.Expr)
			}
		}
	}
	walk(d.Panels)
	require.NotEmpty(t, out)
	return out
}

var (
	// What is not a metric name in PromQL: strings, label matchers,
	// range and subquery selectors, grouping clauses.
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords = []string{"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless", "inf", "nan"}
)

// metricNames extracts the metric names an expression selects: the
// identifiers left once strings, matchers, ranges and grouping clauses are
// removed that are neither a function (an identifier followed by "("), a
// keyword nor a Grafana variable.
func metricNames(expr string) []string {
	s := promString.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, "")
	s = promRange.ReplaceAllString(s, "")
	s = promGrouping.ReplaceAllString(s, "")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsRune("$0123456789.", rune(s[loc[0]-1])) {
			continue // a Grafana variable, or a number's unit or exponent (1h, 1e3)
		}
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || slices.Contains(promKeywords, strings.ToLower(name)) {
			continue
		}
		out = append(out, name)
	}
	return out
}

func TestMetricNamesOfAnExpression(t *testing.T) {
	for expr, want := range map[string][]string{
		`histogram_quantile(0.95, sum by (le, stage) (rate(cfa_stage_duration_seconds_bucket{outcome="error", stage=~"a|b"}[$__rate_interval])))`: {"cfa_stage_duration_seconds_bucket"},
		`sum(increase(cfa_state_read_errors_total[$__range])) / on(instance) group_left max(up) > bool 0`:                                         {"cfa_state_read_errors_total", "up"},
		`max(cfa_escalations_open) or vector(0)`: {"cfa_escalations_open"},
		`rate(x_total[5m] offset 1h) * 60`:       {"x_total"},
	} {
		require.Equal(t, want, metricNames(expr), expr)
	}
}

// exported says whether name is a series of a family the registry
// exports: the family itself, or a histogram's _bucket, _sum or _count.
func exported(fs map[string]*dto.MetricFamily, name string) bool {
	if _, ok := fs[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, ok := fs[base]; ok && (f.GetType() == dto.MetricType_HISTOGRAM || (suffix != "_bucket" && f.GetType() == dto.MetricType_SUMMARY)) {
				return true
			}
		}
	}
	return false
}

// touchAPI registers the API's call metrics on m's registry, as `cfa
// serve` does, and records one call.
func touchAPI(t *testing.T, m *metrics.Metrics) {
	t.Helper()
	calls, err := api.NewMetricsInterceptor(m.Registry)
	require.NoError(t, err)
	call := calls.WrapUnary(func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) { return nil, nil })
	_, err = call(context.Background(), connect.NewRequest(&emptypb.Empty{}))
	require.NoError(t, err)
}

// TestDashboardNamesOnlyExportedMetrics: every query of the Grafana
// dashboard selects metrics the code exports (the cfa_ ones, the API's
// and the Temporal SDK's as they reach the registry), and every cfa_
// metric has a panel.
func TestDashboardNamesOnlyExportedMetrics(t *testing.T) {
	m := metrics.New()
	touchAll(t, m)
	touchAPI(t, m)
	fs := families(t, m)
	used := map[string]bool{}
	for title, es := range exprs(t) {
		for _, e := range es {
			names := metricNames(e)
			require.NotEmpty(t, names, "panel %q: query %q selects no metric", title, e)
			for _, n := range names {
				require.True(t, exported(fs, n), "panel %q: query %q names %s, which the code does not export", title, e, n)
				used[n] = true
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(n, suffix); ok {
						used[base] = true
					}
				}
			}
		}
	}
	for _, n := range append([]string{api.MetricRequests, api.MetricRequestDuration}, metrics.Names...) {
		require.True(t, used[n], "metric %s has no panel in %s", n, dashboardFile)
	}
}
