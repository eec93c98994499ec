package contextplane

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// Query languages the Read protocol understands (cfspb.Query.language).
const (
	// LanguageCEL: a CEL expression of type bool over `record` or `link`
	// (maps with their CFS field names; props as a map of JSON values),
	// e.g. `"dataset" in record.labels && record.props.state == "stale"`.
	// An expression naming only record returns records, only link returns
	// links; naming both is refused.
	LanguageCEL = "cel"
	// LanguageLabels: a comma-separated list of labels; the records
	// carrying every one of them (no links).
	LanguageLabels = "labels"
)

// maxCELCost bounds one evaluation (cel.CostLimit).
const maxCELCost = 100_000

// ErrInvalidQuery: the query's language is unknown or its expression does
// not compile to a bool.
var ErrInvalidQuery = errors.New("invalid context plane query")

// Filter is a compiled query.
type Filter struct {
	records, links bool
	labels         []string
	prg            cel.Program
}

// Compile checks q and compiles it. A nil query or an empty expression
// matches every record and link.
func Compile(q *cfspb.Query) (*Filter, error) {
	expr := strings.TrimSpace(q.GetExpression())
	lang := q.GetLanguage()
	if expr == "" {
		if lang != "" && lang != LanguageCEL && lang != LanguageLabels {
			return nil, fmt.Errorf("%w: language %q: use %q or %q", ErrInvalidQuery, lang, LanguageCEL, LanguageLabels)
		}
		return &Filter{records: true, links: true}, nil
	}
	switch lang {
	case LanguageLabels:
		var labels []string
		for _, l := range strings.Split(expr, ",") {
			if l = strings.TrimSpace(l); l == "" {
				return nil, fmt.Errorf("%w: labels %q: an empty label: list labels separated by commas", ErrInvalidQuery, expr)
			}
			labels = append(labels, l)
		}
		return &Filter{records: true, labels: labels}, nil
	case LanguageCEL, "":
		return compileCEL(expr)
	default:
		return nil, fmt.Errorf("%w: language %q: use %q or %q", ErrInvalidQuery, lang, LanguageCEL, LanguageLabels)
	}
}

var celEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("record", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("link", cel.MapType(cel.StringType, cel.DynType)),
	)
	if err != nil {
		panic(err) // static declarations
	}
	return env
}()

func compileCEL(expr string) (*Filter, error) {
	ast, iss := celEnv.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("%w: cel %q: %v", ErrInvalidQuery, expr, iss.Err())
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return nil, fmt.Errorf("%w: cel %q is of type %s: write a bool expression", ErrInvalidQuery, expr, t)
	}
	f := &Filter{}
	for _, ref := range ast.NativeRep().ReferenceMap() {
		switch ref.Name {
		case "record":
			f.records = true
		case "link":
			f.links = true
		}
	}
	switch {
	case f.records && f.links:
		return nil, fmt.Errorf("%w: cel %q names both record and link: query one kind at a time", ErrInvalidQuery, expr)
	case !f.records && !f.links:
		f.records, f.links = true, true // a constant: every record and link, or none
	}
	prg, err := celEnv.Program(ast, cel.CostLimit(maxCELCost))
	if err != nil {
		return nil, fmt.Errorf("%w: cel %q: %v", ErrInvalidQuery, expr, err)
	}
	f.prg = prg
	return f, nil
}

// Records and Links say which kinds the query can match.
func (f *Filter) Records() bool { return f.records }

// Links: see Records.
func (f *Filter) Links() bool { return f.links }

// MatchRecord reports whether r matches. An evaluation error (a missing
// prop, a type mismatch) is no match: the record lacks what the query
// asks about.
func (f *Filter) MatchRecord(r *cfspb.Record) bool {
	if !f.records {
		return false
	}
	for _, l := range f.labels {
		if !slices.Contains(r.GetLabels(), l) {
			return false
		}
	}
	if f.prg == nil {
		return true
	}
	return f.eval(map[string]any{"record": RecordValue(r), "link": map[string]any{}})
}

// MatchLink reports whether l matches.
func (f *Filter) MatchLink(l *cfspb.Link) bool {
	if !f.links {
		return false
	}
	if f.prg == nil {
		return true
	}
	return f.eval(map[string]any{"link": LinkValue(l), "record": map[string]any{}})
}

func (f *Filter) eval(vars map[string]any) bool {
	out, _, err := f.prg.Eval(vars)
	if err != nil {
		return false
	}
	b, ok := out.Value().(bool)
	return ok && b
}

// RecordValue is r as the CEL variable record sees it.
func RecordValue(r *cfspb.Record) map[string]any {
	return map[string]any{
		"record_id":  r.GetRecordId(),
		"tenant_id":  r.GetTenantId(),
		"labels":     nonNilStrings(r.GetLabels()),
		"props":      propsValue(r.GetProps()),
		"created_at": r.GetCreatedAt().AsTime(),
	}
}

// LinkValue is l as the CEL variable link sees it; valid and system are
// maps with from and to.
func LinkValue(l *cfspb.Link) map[string]any {
	iv := func(i *cfspb.Interval) map[string]any {
		return map[string]any{"from": i.GetFrom().AsTime(), "to_forever": cfs.IsForever(i.GetTo())}
	}
	return map[string]any{
		"link_id":      l.GetLinkId(),
		"type":         l.GetType(),
		"source":       l.GetSource(),
		"target":       l.GetTarget(),
		"props":        propsValue(l.GetProps()),
		"assertion_id": l.GetAssertionId(),
		"valid":        iv(l.GetValid()),
		"system":       iv(l.GetSystem()),
	}
}

func propsValue(p map[string]*structpb.Value) map[string]any {
	out := make(map[string]any, len(p))
	for k, v := range p {
		out[k] = v.AsInterface()
	}
	return out
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
