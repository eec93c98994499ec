package access

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// Condition attributes. Numeric ones take number operands, the others
// string operands (principal.type: HUMAN, AGENT, SERVICE, SYSTEM; action:
// READ, WRITE, INVOKE, APPROVE, SYNC). The time attributes are UTC.
const (
	AttrTimeHour      = "time.hour"    // 0..23
	AttrTimeWeekday   = "time.weekday" // 0 (Sunday)..6
	AttrPrincipalID   = "principal.id"
	AttrPrincipalType = "principal.type"
	AttrAuthContext   = "principal.auth_context"
	AttrResourceID    = "resource.id"
	AttrResourceLabel = "resource.label" // any of the resource's labels
	AttrAction        = "action"
)

// Condition operators. between is inclusive at both ends.
const (
	OpEq      = "eq"
	OpNe      = "ne"
	OpIn      = "in"
	OpBetween = "between"
	OpPrefix  = "prefix"
)

var numericAttrs = []string{AttrTimeHour, AttrTimeWeekday}
var stringAttrs = []string{AttrPrincipalID, AttrPrincipalType, AttrAuthContext, AttrResourceID, AttrResourceLabel, AttrAction}

// Attributes and Operators list what a condition may use.
func Attributes() []string { return append(slices.Clone(numericAttrs), stringAttrs...) }

// Operators lists the condition operators.
func Operators() []string { return []string{OpEq, OpNe, OpIn, OpBetween, OpPrefix} }

type condition struct {
	attr, op string
	nums     []float64
	strs     []string
}

func compileCondition(c *cfspb.Condition) (condition, error) {
	out := condition{attr: c.GetAttribute(), op: c.GetOperator()}
	numeric := slices.Contains(numericAttrs, out.attr)
	if !numeric && !slices.Contains(stringAttrs, out.attr) {
		return out, fmt.Errorf("unknown attribute %q: use one of %s", out.attr, strings.Join(Attributes(), ", "))
	}
	if !slices.Contains(Operators(), out.op) {
		return out, fmt.Errorf("unknown operator %q: use one of %s", out.op, strings.Join(Operators(), ", "))
	}
	ops := c.GetOperands()
	want := map[string]int{OpEq: 1, OpNe: 1, OpBetween: 2, OpPrefix: 1}
	switch n, fixed := want[out.op]; {
	case fixed && len(ops) != n:
		return out, fmt.Errorf("%s %s takes %d operand(s), not %d", out.attr, out.op, n, len(ops))
	case !fixed && len(ops) == 0:
		return out, fmt.Errorf("%s in takes at least one operand", out.attr)
	}
	if numeric && out.op == OpPrefix {
		return out, fmt.Errorf("%s is a number: prefix applies to strings", out.attr)
	}
	if !numeric && out.op == OpBetween {
		return out, fmt.Errorf("%s is a string: between applies to numbers", out.attr)
	}
	for i, v := range ops {
		if numeric {
			n, ok := numberOperand(v)
			if !ok {
				return out, fmt.Errorf("operand %d of %s: give a number, not %s", i, out.attr, kindName(v))
			}
			out.nums = append(out.nums, n)
			continue
		}
		s, ok := stringOperand(v)
		if !ok {
			return out, fmt.Errorf("operand %d of %s: give a string, not %s", i, out.attr, kindName(v))
		}
		switch out.attr {
		case AttrPrincipalType:
			if t, ok := cfspb.PrincipalType_value[s]; !ok || t == 0 {
				return out, fmt.Errorf("operand %q of %s: give HUMAN, AGENT, SERVICE or SYSTEM", s, out.attr)
			}
		case AttrAction:
			if _, ok := cfspb.Action_value[s]; !ok {
				return out, fmt.Errorf("operand %q of %s: give READ, WRITE, INVOKE, APPROVE or SYNC", s, out.attr)
			}
		}
		out.strs = append(out.strs, s)
	}
	if out.op == OpBetween && out.nums[0] > out.nums[1] {
		return out, fmt.Errorf("%s between %v and %v: the lower bound comes first", out.attr, out.nums[0], out.nums[1])
	}
	return out, nil
}

func kindName(v *structpb.Value) string {
	switch v.GetKind().(type) {
	case *structpb.Value_NumberValue:
		return "a number"
	case *structpb.Value_StringValue:
		return "a string"
	case *structpb.Value_BoolValue:
		return "a bool"
	case *structpb.Value_ListValue:
		return "a list"
	case *structpb.Value_StructValue:
		return "an object"
	}
	return "null"
}

func (c *condition) eval(req Request) bool {
	switch c.attr {
	case AttrTimeHour:
		return c.num(float64(req.At.UTC().Hour()))
	case AttrTimeWeekday:
		return c.num(float64(req.At.UTC().Weekday()))
	case AttrResourceLabel:
		// Multi-valued: ne holds when no label equals the operand, the
		// others when some label satisfies them.
		if c.op == OpNe {
			for _, l := range req.Resource.Labels {
				if l == c.strs[0] {
					return false
				}
			}
			return true
		}
		any := false
		for _, l := range req.Resource.Labels {
			if c.str(l) {
				any = true
			}
		}
		return any
	}
	var v string
	switch c.attr {
	case AttrPrincipalID:
		v = req.Principal.GetId()
	case AttrPrincipalType:
		v = req.Principal.GetType().String()
	case AttrAuthContext:
		v = req.Principal.GetAuthContext()
	case AttrResourceID:
		v = req.Resource.ID
	case AttrAction:
		v = req.Action.String()
	}
	return c.str(v)
}

func (c *condition) num(v float64) bool {
	switch c.op {
	case OpEq:
		return v == c.nums[0]
	case OpNe:
		return v != c.nums[0]
	case OpIn:
		return slices.Contains(c.nums, v)
	case OpBetween:
		return v >= c.nums[0] && v <= c.nums[1]
	}
	return false
}

func (c *condition) str(v string) bool {
	switch c.op {
	case OpEq:
		return v == c.strs[0]
	case OpNe:
		return v != c.strs[0]
	case OpIn:
		return slices.Contains(c.strs, v)
	case OpPrefix:
		return strings.HasPrefix(v, c.strs[0])
	}
	return false
}
