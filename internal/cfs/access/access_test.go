package access_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/access"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

var (
	t0    = time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC) // a Thursday, 10:30 UTC
	ana   = &cfspb.Principal{Id: "ana", Type: cfspb.PrincipalType_HUMAN}
	bot   = &cfspb.Principal{Id: "agent-7", Type: cfspb.PrincipalType_AGENT}
	sales = access.Resource{ID: "rec:sales-1", Labels: []string{"Dataset", "gold"}}
)

func pol(id string, eff cfspb.Effect, prio int32, mod ...func(*cfspb.Policy)) *cfspb.Policy {
	p := &cfspb.Policy{PolicyId: id, Effect: eff, Priority: prio,
		Principal: &cfspb.PrincipalMatcher{Ids: []string{"*"}},
		Resource:  &cfspb.ResourceMatcher{Patterns: []string{"*"}}}
	for _, m := range mod {
		m(p)
	}
	return p
}

func valid(from, to time.Time) func(*cfspb.Policy) {
	return func(p *cfspb.Policy) { p.Valid = cfs.ClosedInterval(from, to) }
}

func cond(attr, op string, operands ...any) func(*cfspb.Policy) {
	return func(p *cfspb.Policy) {
		vs := make([]*structpb.Value, len(operands))
		for i, o := range operands {
			v, err := structpb.NewValue(o)
			if err != nil {
				panic(err)
			}
			vs[i] = v
		}
		p.Conditions = append(p.Conditions, &cfspb.Condition{Attribute: attr, Operator: op, Operands: vs})
	}
}

func principals(ids ...string) func(*cfspb.Policy) {
	return func(p *cfspb.Policy) { p.Principal = &cfspb.PrincipalMatcher{Ids: ids} }
}

func types(ts ...cfspb.PrincipalType) func(*cfspb.Policy) {
	return func(p *cfspb.Policy) { p.Principal = &cfspb.PrincipalMatcher{Types: ts} }
}

func resources(patterns []string, labels []string) func(*cfspb.Policy) {
	return func(p *cfspb.Policy) { p.Resource = &cfspb.ResourceMatcher{Patterns: patterns, Labels: labels} }
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	read := func(p *cfspb.Principal, r access.Resource, at time.Time) access.Request {
		return access.Request{Principal: p, Action: cfspb.Action_READ, Resource: r, At: at}
	}
	cases := []struct {
		name     string
		policies []*cfspb.Policy
		req      access.Request
		allowed  bool
		by       string
	}{
		{"no policy is a default deny", nil, read(ana, sales, t0), false, ""},
		{"a matching allow allows", []*cfspb.Policy{pol("p1", cfspb.Effect_ALLOW, 0)}, read(ana, sales, t0), true, "p1"},
		{"higher priority allow beats lower deny",
			[]*cfspb.Policy{pol("deny", cfspb.Effect_DENY, 1), pol("allow", cfspb.Effect_ALLOW, 5)}, read(ana, sales, t0), true, "allow"},
		{"higher priority deny beats lower allow",
			[]*cfspb.Policy{pol("allow", cfspb.Effect_ALLOW, 1), pol("deny", cfspb.Effect_DENY, 5)}, read(ana, sales, t0), false, "deny"},
		{"deny wins a tie at the same priority",
			[]*cfspb.Policy{pol("a-allow", cfspb.Effect_ALLOW, 3), pol("z-deny", cfspb.Effect_DENY, 3)}, read(ana, sales, t0), false, "z-deny"},
		{"deny wins a tie whatever the order given",
			[]*cfspb.Policy{pol("z-deny", cfspb.Effect_DENY, 3), pol("a-allow", cfspb.Effect_ALLOW, 3)}, read(ana, sales, t0), false, "z-deny"},
		{"expired policy takes no part",
			[]*cfspb.Policy{pol("old-deny", cfspb.Effect_DENY, 9, valid(t0.Add(-48*time.Hour), t0.Add(-time.Hour))), pol("allow", cfspb.Effect_ALLOW, 1)},
			read(ana, sales, t0), true, "allow"},
		{"policy not yet valid takes no part",
			[]*cfspb.Policy{pol("future", cfspb.Effect_ALLOW, 1, valid(t0.Add(time.Hour), t0.Add(2*time.Hour)))}, read(ana, sales, t0), false, ""},
		{"valid interval end is exclusive",
			[]*cfspb.Policy{pol("ends", cfspb.Effect_ALLOW, 1, valid(t0.Add(-time.Hour), t0))}, read(ana, sales, t0), false, ""},
		{"valid interval start is inclusive",
			[]*cfspb.Policy{pol("starts", cfspb.Effect_ALLOW, 1, valid(t0, t0.Add(time.Hour)))}, read(ana, sales, t0), true, "starts"},
		{"open interval (forever) holds",
			[]*cfspb.Policy{pol("open", cfspb.Effect_ALLOW, 1, func(p *cfspb.Policy) { p.Valid = cfs.OpenInterval(t0.Add(-time.Hour)) })}, read(ana, sales, t0), true, "open"},
		{"principal id not listed: no match",
			[]*cfspb.Policy{pol("bob", cfspb.Effect_ALLOW, 1, principals("bob"))}, read(ana, sales, t0), false, ""},
		{"principal id glob",
			[]*cfspb.Policy{pol("agents", cfspb.Effect_ALLOW, 1, principals("agent-*"))}, read(bot, sales, t0), true, "agents"},
		{"principal type",
			[]*cfspb.Policy{pol("humans", cfspb.Effect_ALLOW, 1, types(cfspb.PrincipalType_HUMAN))}, read(bot, sales, t0), false, ""},
		{"resource pattern",
			[]*cfspb.Policy{pol("rec", cfspb.Effect_ALLOW, 1, resources([]string{"rec:sales-*"}, nil))}, read(ana, sales, t0), true, "rec"},
		{"resource pattern miss",
			[]*cfspb.Policy{pol("rec", cfspb.Effect_ALLOW, 1, resources([]string{"rec:hr-*"}, nil))}, read(ana, sales, t0), false, ""},
		{"resource label",
			[]*cfspb.Policy{pol("gold", cfspb.Effect_DENY, 2, resources(nil, []string{"gold"})), pol("all", cfspb.Effect_ALLOW, 1)}, read(ana, sales, t0), false, "gold"},
		{"time.hour between holds (inclusive)",
			[]*cfspb.Policy{pol("office", cfspb.Effect_ALLOW, 1, cond(access.AttrTimeHour, access.OpBetween, 9, 10))}, read(ana, sales, t0), true, "office"},
		{"time.hour between fails outside",
			[]*cfspb.Policy{pol("office", cfspb.Effect_ALLOW, 1, cond(access.AttrTimeHour, access.OpBetween, 9, 17))}, read(ana, sales, t0.Add(10*time.Hour)), false, ""},
		{"principal.type in",
			[]*cfspb.Policy{pol("p", cfspb.Effect_ALLOW, 1, cond(access.AttrPrincipalType, access.OpIn, "AGENT", "SERVICE"))}, read(bot, sales, t0), true, "p"},
		{"action eq misses another action",
			[]*cfspb.Policy{pol("writers", cfspb.Effect_ALLOW, 1, cond(access.AttrAction, access.OpEq, "WRITE"))}, read(ana, sales, t0), false, ""},
		{"resource.label ne holds when no label equals",
			[]*cfspb.Policy{pol("not-pii", cfspb.Effect_ALLOW, 1, cond(access.AttrResourceLabel, access.OpNe, "pii"))}, read(ana, sales, t0), true, "not-pii"},
		{"resource.id prefix",
			[]*cfspb.Policy{pol("pre", cfspb.Effect_ALLOW, 1, cond(access.AttrResourceID, access.OpPrefix, "rec:sal"))}, read(ana, sales, t0), true, "pre"},
		{"every condition must hold",
			[]*cfspb.Policy{pol("both", cfspb.Effect_ALLOW, 1, cond(access.AttrTimeHour, access.OpEq, 10), cond(access.AttrPrincipalID, access.OpEq, "bob"))}, read(ana, sales, t0), false, ""},
		{"nil principal matches nothing",
			[]*cfspb.Policy{pol("p", cfspb.Effect_ALLOW, 1)}, read(nil, sales, t0), false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			set, err := access.Load(c.policies)
			require.NoError(t, err)
			d := set.Evaluate(c.req)
			require.Equal(t, c.allowed, d.Allowed, d.Reason)
			require.Equal(t, c.by, d.PolicyID)
		})
	}
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		p    *cfspb.Policy
	}{
		{"unknown attribute", pol("p", cfspb.Effect_ALLOW, 1, cond("time.minute", access.OpEq, 3))},
		{"unknown operator", pol("p", cfspb.Effect_ALLOW, 1, cond(access.AttrTimeHour, "gt", 3))},
		{"between on a string", pol("p", cfspb.Effect_ALLOW, 1, cond(access.AttrPrincipalID, access.OpBetween, "a", "b"))},
		{"prefix on a number", pol("p", cfspb.Effect_ALLOW, 1, cond(access.AttrTimeHour, access.OpPrefix, 1))},
		{"string operand for a number", pol("p", cfspb.Effect_ALLOW, 1, cond(access.AttrTimeHour, access.OpEq, "9"))},
		{"between with one operand", pol("p", cfspb.Effect_ALLOW, 1, cond(access.AttrTimeHour, access.OpBetween, 9))},
		{"between reversed", pol("p", cfspb.Effect_ALLOW, 1, cond(access.AttrTimeHour, access.OpBetween, 17, 9))},
		{"in without operands", pol("p", cfspb.Effect_ALLOW, 1, cond(access.AttrAction, access.OpIn))},
		{"unknown action", pol("p", cfspb.Effect_ALLOW, 1, cond(access.AttrAction, access.OpEq, "DELETE"))},
		{"unknown principal type", pol("p", cfspb.Effect_ALLOW, 1, cond(access.AttrPrincipalType, access.OpEq, "ROBOT"))},
		{"empty principal matcher", pol("p", cfspb.Effect_ALLOW, 1, func(p *cfspb.Policy) { p.Principal = nil })},
		{"empty resource matcher", pol("p", cfspb.Effect_ALLOW, 1, func(p *cfspb.Policy) { p.Resource = &cfspb.ResourceMatcher{} })},
		{"unspecified principal type", pol("p", cfspb.Effect_ALLOW, 1, types(cfspb.PrincipalType_PRINCIPAL_TYPE_UNSPECIFIED))},
		{"empty id", pol("", cfspb.Effect_ALLOW, 1)},
		{"unknown effect", pol("p", cfspb.Effect(7), 1)},
		{"empty interval", pol("p", cfspb.Effect_ALLOW, 1, valid(t0, t0))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := access.Load([]*cfspb.Policy{c.p})
			require.ErrorIs(t, err, access.ErrInvalidPolicy)
			var le *access.LoadError
			require.True(t, errors.As(err, &le))
		})
	}
	t.Run("duplicate id", func(t *testing.T) {
		t.Parallel()
		_, err := access.Load([]*cfspb.Policy{pol("p", cfspb.Effect_ALLOW, 1), pol("p", cfspb.Effect_DENY, 1)})
		require.ErrorIs(t, err, access.ErrInvalidPolicy)
	})
}

func record() *cfspb.Record {
	return &cfspb.Record{RecordId: "rec:sales-1", TenantId: "t1", Labels: []string{"Dataset"},
		Props:     map[string]*structpb.Value{"name": structpb.NewStringValue("sales"), "owner": structpb.NewStringValue("ana"), "ssn": structpb.NewStringValue("123")},
		Integrity: []byte{1, 2, 3}}
}

func TestViewMasksAndFilters(t *testing.T) {
	t.Parallel()
	policies := map[string]*cfspb.Policy{
		"read-datasets": pol("read-datasets", cfspb.Effect_ALLOW, 1, resources(nil, []string{"Dataset"})),
		"no-agents":     pol("no-agents", cfspb.Effect_DENY, 2, types(cfspb.PrincipalType_AGENT)),
	}
	v := &cfspb.View{ViewId: "datasets", BaseQuery: &cfspb.Query{Language: "cfs-labels", Expression: "Dataset"},
		FieldMask: &fieldmaskpb.FieldMask{Paths: []string{"labels", "props.name", "props.owner"}}, PolicyRefs: []string{"read-datasets", "no-agents"}}
	view, err := access.LoadView(v, policies)
	require.NoError(t, err)

	got := view.Filter(ana, t0, []*cfspb.Record{record(), {RecordId: "rec:other", Labels: []string{"Person"}}})
	require.Len(t, got, 1)
	r := got[0]
	require.Equal(t, "rec:sales-1", r.GetRecordId())
	require.Equal(t, []string{"Dataset"}, r.GetLabels())
	require.Empty(t, r.GetTenantId())
	require.Empty(t, r.GetIntegrity())
	require.Len(t, r.GetProps(), 2)
	_, has := r.GetProps()["ssn"]
	require.False(t, has, "a masked property is absent, not empty")
	require.Equal(t, "sales", r.GetProps()["name"].GetStringValue())
	require.Empty(t, view.Filter(bot, t0, []*cfspb.Record{record()}), "the DENY of higher priority hides it from agents")

	q := view.QueryRequest(t0, t0, 10, "")
	require.Equal(t, "Dataset", q.GetQuery().GetExpression())
	require.Nil(t, q.GetFields(), "the plane is asked for whole records: the policies decide on every field, Filter masks")
	require.True(t, q.GetAsOfSystem().AsTime().Equal(t0))
	require.Nil(t, view.QueryRequest(time.Time{}, time.Time{}, 10, "").GetAsOfSystem(), "zero time is the CFS now: unset")

	t.Run("no mask keeps every field", func(t *testing.T) {
		t.Parallel()
		whole, err := access.LoadView(&cfspb.View{ViewId: "all", BaseQuery: v.GetBaseQuery(), PolicyRefs: []string{"read-datasets"}}, policies)
		require.NoError(t, err)
		require.Len(t, whole.MaskRecord(record()).GetProps(), 3)
	})
	t.Run("a record without any masked property has no props map", func(t *testing.T) {
		t.Parallel()
		require.Nil(t, view.MaskRecord(&cfspb.Record{RecordId: "x", Props: map[string]*structpb.Value{"ssn": structpb.NewStringValue("1")}}).GetProps())
	})
}

func TestLoadViewRefuses(t *testing.T) {
	t.Parallel()
	policies := map[string]*cfspb.Policy{"p": pol("p", cfspb.Effect_ALLOW, 1)}
	base := &cfspb.Query{Language: "cfs-labels", Expression: "Dataset"}
	cases := []struct {
		name string
		v    *cfspb.View
	}{
		{"no id", &cfspb.View{BaseQuery: base, PolicyRefs: []string{"p"}}},
		{"no base query", &cfspb.View{ViewId: "v", PolicyRefs: []string{"p"}}},
		{"no policy", &cfspb.View{ViewId: "v", BaseQuery: base}},
		{"dangling policy ref", &cfspb.View{ViewId: "v", BaseQuery: base, PolicyRefs: []string{"missing"}}},
		{"unknown mask path", &cfspb.View{ViewId: "v", BaseQuery: base, PolicyRefs: []string{"p"}, FieldMask: &fieldmaskpb.FieldMask{Paths: []string{"secret"}}}},
		{"empty props path", &cfspb.View{ViewId: "v", BaseQuery: base, PolicyRefs: []string{"p"}, FieldMask: &fieldmaskpb.FieldMask{Paths: []string{"props."}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := access.LoadView(c.v, policies)
			require.ErrorIs(t, err, access.ErrInvalidView)
		})
	}
}

func TestNotVisibleNamesOnlyTheRequest(t *testing.T) {
	t.Parallel()
	a, b := access.NotVisible("v", "rec:1"), access.NotVisible("v", "rec:1")
	require.Equal(t, a.Error(), b.Error())
	require.Equal(t, a.Code(), b.Code())
	require.ErrorIs(t, a, access.ErrNotVisible)
}
