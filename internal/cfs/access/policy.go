package access

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// ErrInvalidPolicy: a policy cannot be loaded (unknown attribute or
// operator, wrong operands, empty matcher, duplicate id, empty interval).
// A *LoadError unwraps to it.
var ErrInvalidPolicy = errors.New("invalid CFS policy")

// LoadError names the policy that does not load and why.
type LoadError struct {
	PolicyID string
	Reason   string
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("cfs policy %q: %s", e.PolicyID, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidPolicy) hold.
func (e *LoadError) Unwrap() error { return ErrInvalidPolicy }

// Resource is what a request is about: a record, a link or another named
// resource of the plane (a proposal's affected record), with its labels.
type Resource struct {
	ID     string
	Labels []string
}

// Request is one access question: may Principal do Action on Resource at At.
type Request struct {
	Principal *cfspb.Principal
	Action    cfspb.Action
	Resource  Resource
	At        time.Time
}

// Decision is the answer. PolicyID is the deciding policy ("" for the
// default deny).
type Decision struct {
	Allowed  bool
	PolicyID string
	Reason   string
}

// DefaultDeny is the reason of a decision no policy made.
const DefaultDeny = "default deny: no valid policy matches"

// PolicySet is a loaded, validated set of policies in evaluation order.
type PolicySet struct {
	policies []compiled
}

type compiled struct {
	p          *cfspb.Policy
	conditions []condition
}

// Load validates policies and returns them ordered for evaluation:
// priority descending, DENY before ALLOW at one priority, then policy_id.
// It refuses anything it could only evaluate by guessing.
func Load(policies []*cfspb.Policy) (*PolicySet, error) {
	seen := make(map[string]bool, len(policies))
	out := &PolicySet{policies: make([]compiled, 0, len(policies))}
	for _, p := range policies {
		c, err := compile(p)
		if err != nil {
			return nil, err
		}
		if seen[p.GetPolicyId()] {
			return nil, &LoadError{PolicyID: p.GetPolicyId(), Reason: "given twice: policy ids are unique"}
		}
		seen[p.GetPolicyId()] = true
		out.policies = append(out.policies, c)
	}
	sort.SliceStable(out.policies, func(i, j int) bool {
		a, b := out.policies[i].p, out.policies[j].p
		if a.GetPriority() != b.GetPriority() {
			return a.GetPriority() > b.GetPriority()
		}
		if a.GetEffect() != b.GetEffect() {
			return a.GetEffect() == cfspb.Effect_DENY
		}
		return a.GetPolicyId() < b.GetPolicyId()
	})
	return out, nil
}

// Validate loads one policy alone: what a store checks before it keeps it.
func Validate(p *cfspb.Policy) error {
	_, err := compile(p)
	return err
}

func compile(p *cfspb.Policy) (compiled, error) {
	if p == nil {
		return compiled{}, &LoadError{Reason: "nil policy"}
	}
	id := p.GetPolicyId()
	fail := func(format string, args ...any) (compiled, error) {
		return compiled{}, &LoadError{PolicyID: id, Reason: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(id) == "" {
		return fail("policy_id is empty: give every policy an id")
	}
	if p.GetEffect() != cfspb.Effect_ALLOW && p.GetEffect() != cfspb.Effect_DENY {
		return fail("effect %d is neither ALLOW nor DENY", p.GetEffect())
	}
	pm := p.GetPrincipal()
	if len(pm.GetIds()) == 0 && len(pm.GetTypes()) == 0 {
		return fail(`principal matcher is empty: list ids (glob patterns, "*" for every principal) or types`)
	}
	for _, t := range pm.GetTypes() {
		if t == cfspb.PrincipalType_PRINCIPAL_TYPE_UNSPECIFIED || cfspb.PrincipalType_name[int32(t)] == "" {
			return fail("principal type %v: give HUMAN, AGENT, SERVICE or SYSTEM", t)
		}
	}
	rm := p.GetResource()
	if len(rm.GetPatterns()) == 0 && len(rm.GetLabels()) == 0 {
		return fail(`resource matcher is empty: list patterns (globs over record and link ids, "*" for every resource) or labels`)
	}
	for _, s := range append(slices.Clone(pm.GetIds()), rm.GetPatterns()...) {
		if s == "" {
			return fail("an empty id or pattern matches nothing: remove it")
		}
	}
	if v := p.GetValid(); v != nil && v.GetFrom() != nil && v.GetTo() != nil && cfs.CompareTimestamps(v.GetFrom(), v.GetTo()) >= 0 {
		return fail("valid interval [%s, %s) is empty: from must be before to", v.GetFrom().AsTime().Format(time.RFC3339), v.GetTo().AsTime().Format(time.RFC3339))
	}
	c := compiled{p: p}
	for i, cd := range p.GetConditions() {
		cc, err := compileCondition(cd)
		if err != nil {
			return fail("condition %d: %v", i, err)
		}
		c.conditions = append(c.conditions, cc)
	}
	return c, nil
}

// Policies returns the loaded policies in evaluation order.
func (s *PolicySet) Policies() []*cfspb.Policy {
	out := make([]*cfspb.Policy, len(s.policies))
	for i, c := range s.policies {
		out[i] = c.p
	}
	return out
}

// Evaluate decides req. Policies not valid at req.At take no part; among
// the matching ones the highest priority decides, DENY winning a tie; no
// match is a deny. It visits every policy whatever the answer, so its cost
// does not depend on which one decides.
func (s *PolicySet) Evaluate(req Request) Decision {
	d := Decision{Reason: DefaultDeny}
	decided := false
	for i := range s.policies {
		c := &s.policies[i]
		// Order is priority descending, DENY first at one priority: the
		// first match decides. Later policies are still evaluated so the
		// cost does not depend on which one decides.
		if c.matches(req) && !decided {
			decided = true
			d = Decision{Allowed: c.p.GetEffect() == cfspb.Effect_ALLOW, PolicyID: c.p.GetPolicyId(),
				Reason: fmt.Sprintf("%s by policy %s (priority %d)", c.p.GetEffect(), c.p.GetPolicyId(), c.p.GetPriority())}
		}
	}
	return d
}

func (c *compiled) matches(req Request) bool {
	if !validAt(c.p.GetValid(), req.At) {
		return false
	}
	if !matchPrincipal(c.p.GetPrincipal(), req.Principal) || !matchResource(c.p.GetResource(), req.Resource) {
		return false
	}
	ok := true
	for i := range c.conditions {
		// Every condition is evaluated: no short cut whose cost depends on
		// the resource.
		if !c.conditions[i].eval(req) {
			ok = false
		}
	}
	return ok
}

// validAt: a nil interval always holds; a nil or "forever" end is open.
func validAt(v *cfspb.Interval, at time.Time) bool {
	if v == nil {
		return true
	}
	return cfs.IntervalContains(v, cfs.Timestamp(at))
}

func matchPrincipal(m *cfspb.PrincipalMatcher, p *cfspb.Principal) bool {
	if p == nil {
		return false
	}
	for _, pat := range m.GetIds() {
		if glob(pat, p.GetId()) {
			return true
		}
	}
	return slices.Contains(m.GetTypes(), p.GetType()) && p.GetType() != cfspb.PrincipalType_PRINCIPAL_TYPE_UNSPECIFIED
}

func matchResource(m *cfspb.ResourceMatcher, r Resource) bool {
	for _, pat := range m.GetPatterns() {
		if glob(pat, r.ID) {
			return true
		}
	}
	for _, l := range m.GetLabels() {
		for _, rl := range r.Labels {
			if glob(l, rl) {
				return true
			}
		}
	}
	return false
}

// glob matches s against pattern: '*' is any run of characters ('/' and
// ':' included), '?' one character; everything else is literal.
func glob(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti, star, mark := 0, 0, -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// numberOperand and stringOperand read operand values of the kind an
// attribute needs.
func numberOperand(v *structpb.Value) (float64, bool) {
	n, ok := v.GetKind().(*structpb.Value_NumberValue)
	if !ok {
		return 0, false
	}
	return n.NumberValue, true
}

func stringOperand(v *structpb.Value) (string, bool) {
	s, ok := v.GetKind().(*structpb.Value_StringValue)
	if !ok {
		return "", false
	}
	return s.StringValue, true
}
