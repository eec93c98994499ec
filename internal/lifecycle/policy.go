package lifecycle

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Thresholds is promotion_policy.thresholds: T1, T2 and the binary IFg.
type Thresholds struct {
	IFo float64 `json:"IFo" yaml:"IFo"`
	IFs float64 `json:"IFs" yaml:"IFs"`
	IFg float64 `json:"IFg" yaml:"IFg"`
}

// Policy is promotion_policy + evaluation_window (whitepaper 5.11/5.12),
// plus the IDI limits 5.11 states in prose.
type Policy struct {
	MinExecutions    int               `json:"min_executions" yaml:"min_executions"`
	EvaluationWindow string            `json:"evaluation_window" yaml:"evaluation_window"` // default, e.g. last_7_days
	ByDomain         map[string]string `json:"by_domain,omitempty" yaml:"by_domain,omitempty"`
	Thresholds       Thresholds        `json:"thresholds" yaml:"thresholds"`
	IDIWatchlist     float64           `json:"idi_watchlist" yaml:"idi_watchlist"` // IDI below → watchlist
	IDIDemotion      float64           `json:"idi_demotion" yaml:"idi_demotion"`   // IDI below → immediate demotion
	// Promotion says who promotes a promotion_candidate (ADR 0129):
	// automatic, the Promotion Engine as soon as the gate holds; human, an
	// approver of the bundle's confirmation.approvers.promotion.
	Promotion string `json:"promotion" yaml:"promotion"`
}

// Promotion modes.
const (
	PromotionAutomatic = "automatic"
	PromotionHuman     = "human"
)

// DefaultPolicy is the whitepaper's, value for value.
func DefaultPolicy() Policy {
	return Policy{
		MinExecutions:    3,
		EvaluationWindow: "last_7_days",
		ByDomain: map[string]string{
			"fiscal":      "last_3_days",  // high regulatory volatility
			"master_data": "last_30_days", // stable domain
			"operational": "last_7_days",
		},
		Thresholds:   Thresholds{IFo: 0.75, IFs: 0.90, IFg: 1.0},
		IDIWatchlist: 0.75,
		IDIDemotion:  0.50,
		Promotion:    PromotionAutomatic,
	}
}

// ErrInvalidPolicy: a promotion_policy that cannot be applied.
var ErrInvalidPolicy = errors.New("invalid promotion_policy")

// maxWindowDays keeps the window far from time.Duration's ~292-year limit;
// ten years is already beyond any evidence a skill keeps.
const maxWindowDays = 3650

var windowName = regexp.MustCompile(`^last_([0-9]+)_days$`)

// parseWindow reads "last_N_days" as N whole 24-hour days.
func parseWindow(name string) (time.Duration, error) {
	m := windowName.FindStringSubmatch(name)
	if m == nil {
		return 0, fmt.Errorf("%w: evaluation window %q is not last_N_days; write e.g. last_7_days", ErrInvalidPolicy, name)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n < 1 || n > maxWindowDays {
		return 0, fmt.Errorf("%w: evaluation window %q: give N between 1 and %d days", ErrInvalidPolicy, name, maxWindowDays)
	}
	return time.Duration(n) * 24 * time.Hour, nil
}

// Window is the evaluation window of domain: evaluation_window.by_domain,
// or the default for a domain not listed (the empty one included).
func (p Policy) Window(domain string) (name string, d time.Duration, err error) {
	name, ok := p.ByDomain[domain]
	if !ok {
		name = p.EvaluationWindow
	}
	d, err = parseWindow(name)
	if err != nil {
		if ok {
			return "", 0, fmt.Errorf("evaluation_window.by_domain.%s: %w", domain, err)
		}
		return "", 0, fmt.Errorf("evaluation_window.default: %w", err)
	}
	return name, d, nil
}

// Validate reports every problem of p at once.
func (p Policy) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidPolicy}, args...)...))
	}
	if p.MinExecutions < 1 {
		bad("min_executions is %d; give at least 1 (the whitepaper's is 3)", p.MinExecutions)
	}
	if _, err := parseWindow(p.EvaluationWindow); err != nil {
		errs = append(errs, fmt.Errorf("evaluation_window.default: %w", err))
	}
	// Sorted so the message is the same on every run.
	domains := make([]string, 0, len(p.ByDomain))
	for d := range p.ByDomain {
		domains = append(domains, d)
	}
	slices.Sort(domains)
	for _, d := range domains {
		if d == "" {
			bad("evaluation_window.by_domain has an empty domain name; name the catalog domain")
			continue
		}
		if _, err := parseWindow(p.ByDomain[d]); err != nil {
			errs = append(errs, fmt.Errorf("evaluation_window.by_domain.%s: %w", d, err))
		}
	}
	for _, t := range []struct {
		key string
		v   float64
	}{{"IFo", p.Thresholds.IFo}, {"IFs", p.Thresholds.IFs}} {
		if !unit(t.v) {
			bad("thresholds.%s is %g; give a score in [0,1]", t.key, t.v)
		}
	}
	// IFg is binary and the whitepaper allows no exception: a lower
	// threshold would let a governance violation be promoted.
	if p.Thresholds.IFg != 1 {
		bad("thresholds.IFg is %g; it must be 1.0 (binary — no exception)", p.Thresholds.IFg)
	}
	if p.Promotion != PromotionAutomatic && p.Promotion != PromotionHuman {
		bad("promotion.mode is %q; give %s or %s", p.Promotion, PromotionAutomatic, PromotionHuman)
	}
	if !unit(p.IDIWatchlist) || !unit(p.IDIDemotion) || p.IDIDemotion > p.IDIWatchlist {
		bad("IDI limits watchlist %g, demotion %g; give 0 <= demotion <= watchlist <= 1 (the whitepaper's are 0.75 and 0.50)", p.IDIWatchlist, p.IDIDemotion)
	}
	return errors.Join(errs...)
}

// unit reports whether v is a score in [0,1] (NaN is not).
func unit(v float64) bool { return !math.IsNaN(v) && v >= 0 && v <= 1 }
