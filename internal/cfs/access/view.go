package access

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// ErrInvalidView: a view cannot be loaded (no id, no base query, a field
// mask path that names no field, a policy reference that does not
// resolve).
var ErrInvalidView = errors.New("invalid CFS view")

// ErrNotVisible is the one answer to a read through a view of a record the
// principal may not see or that does not exist (MUST-006): the two are not
// told apart, in the message or the code.
var ErrNotVisible = errors.New("not found or not visible through this view")

// NotVisible is the error of a read through viewID of recordID that is
// denied or missing: the same bytes either way (Connect code NotFound),
// whichever record was asked for: it names the view only.
func NotVisible(viewID, _ string) *connect.Error {
	return connect.NewError(connect.CodeNotFound, fmt.Errorf("cfs view %q: the record asked for is %w", viewID, ErrNotVisible))
}

// Record fields a field mask may name, besides props.<key>. record_id is
// always returned: it is what the caller asked for.
var recordFields = []string{"record_id", "tenant_id", "labels", "props", "created_at", "integrity"}

// Link fields a field mask may name, besides props.<key>. link_id is always
// returned.
var linkFields = []string{"link_id", "type", "source", "target", "props", "valid", "system", "assertion_id", "integrity"}

// View is a loaded view: its definition and the policies it refers to.
type View struct {
	def      *cfspb.View
	policies *PolicySet
	fields   map[string]bool // top-level paths of the mask
	props    map[string]bool // props.<key> paths of the mask
	all      bool            // no mask: every field
}

// LoadView validates v and resolves its policy_refs in policies (by
// policy_id). A view needs a base query and at least one policy: with none,
// default deny would make it empty.
func LoadView(v *cfspb.View, policies map[string]*cfspb.Policy) (*View, error) {
	fail := func(format string, args ...any) (*View, error) {
		return nil, fmt.Errorf("%w %q: %s", ErrInvalidView, v.GetViewId(), fmt.Sprintf(format, args...))
	}
	if err := ValidateView(v); err != nil {
		return nil, err
	}
	refs := make([]*cfspb.Policy, 0, len(v.GetPolicyRefs()))
	for _, id := range v.GetPolicyRefs() {
		p, ok := policies[id]
		if !ok {
			return fail("policy_ref %q does not resolve: store the policy first (`cfa cfs-policy put`)", id)
		}
		refs = append(refs, p)
	}
	set, err := Load(refs)
	if err != nil {
		return fail("%v", err)
	}
	out := &View{def: v, policies: set, fields: map[string]bool{}, props: map[string]bool{}}
	paths := v.GetFieldMask().GetPaths()
	out.all = len(paths) == 0
	for _, p := range paths {
		if k, ok := strings.CutPrefix(p, "props."); ok {
			out.props[k] = true
		} else {
			out.fields[p] = true
		}
	}
	return out, nil
}

// ValidateView checks v alone (its policy_refs are not resolved).
func ValidateView(v *cfspb.View) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidView, v.GetViewId(), fmt.Sprintf(format, args...))
	}
	switch {
	case v == nil:
		return fmt.Errorf("%w: nil view", ErrInvalidView)
	case strings.TrimSpace(v.GetViewId()) == "":
		return fail("view_id is empty")
	case strings.TrimSpace(v.GetBaseQuery().GetExpression()) == "":
		return fail("base_query is empty: say which records and links the view includes")
	case len(v.GetPolicyRefs()) == 0:
		return fail("no policy_refs: a view without policies shows nothing (default deny)")
	}
	for _, p := range v.GetFieldMask().GetPaths() {
		if k, ok := strings.CutPrefix(p, "props."); ok {
			if k == "" {
				return fail("field mask path %q names no property", p)
			}
			continue
		}
		if !slices.Contains(recordFields, p) && !slices.Contains(linkFields, p) {
			return fail("field mask path %q is not a field of Record or Link (nor props.<key>)", p)
		}
	}
	return nil
}

// Definition is the view as stored.
func (v *View) Definition() *cfspb.View { return v.def }

// QueryRequest is the read a view makes of the plane: its base query at
// the given times (zero: the CFS "now"). It asks for whole records: the
// policies decide on every field (a label the mask hides still denies),
// and Filter masks what it keeps.
func (v *View) QueryRequest(asOfValid, asOfSystem time.Time, limit int32, cursor string) *cfspb.QueryRequest {
	q := &cfspb.QueryRequest{Query: proto.Clone(v.def.GetBaseQuery()).(*cfspb.Query), Limit: limit, Cursor: cursor}
	if !asOfValid.IsZero() {
		q.AsOfValid = cfs.Timestamp(asOfValid)
	}
	if !asOfSystem.IsZero() {
		q.AsOfSystem = cfs.Timestamp(asOfSystem)
	}
	return q
}

// Decide evaluates the view's policies for principal reading r at at.
func (v *View) Decide(principal *cfspb.Principal, r *cfspb.Record, at time.Time) Decision {
	return v.policies.Evaluate(Request{Principal: principal, Action: cfspb.Action_READ,
		Resource: Resource{ID: r.GetRecordId(), Labels: r.GetLabels()}, At: at})
}

// Filter keeps the records principal may read at at, masked.
func (v *View) Filter(principal *cfspb.Principal, at time.Time, records []*cfspb.Record) []*cfspb.Record {
	out := make([]*cfspb.Record, 0, len(records))
	for _, r := range records {
		if v.Decide(principal, r, at).Allowed {
			out = append(out, v.MaskRecord(r))
		}
	}
	return out
}

// FilterLinks keeps the links principal may read at at (the resource is the
// link id, with its type as label), masked.
func (v *View) FilterLinks(principal *cfspb.Principal, at time.Time, links []*cfspb.Link) []*cfspb.Link {
	out := make([]*cfspb.Link, 0, len(links))
	for _, l := range links {
		d := v.policies.Evaluate(Request{Principal: principal, Action: cfspb.Action_READ,
			Resource: Resource{ID: l.GetLinkId(), Labels: []string{l.GetType()}}, At: at})
		if d.Allowed {
			out = append(out, v.MaskLink(l))
		}
	}
	return out
}

// StandIn is what a read through the view evaluates and masks when the
// record does not exist: the requested id with a placeholder for every
// property the mask keeps, so a missing record costs what a hidden one
// does (MUST-006: no timing leak).
func (v *View) StandIn(recordID string) *cfspb.Record {
	r := &cfspb.Record{RecordId: recordID, Labels: []string{""}, Props: make(map[string]*structpb.Value, len(v.props))}
	for k := range v.props {
		r.Props[k] = structpb.NewStringValue("")
	}
	return r
}

// MaskRecord returns a copy of r with only the mask's fields: a property
// not in the mask is absent, not empty. record_id is always kept. Without
// a mask r is copied whole.
func (v *View) MaskRecord(r *cfspb.Record) *cfspb.Record {
	out := &cfspb.Record{RecordId: r.GetRecordId()}
	if v.all {
		return proto.Clone(r).(*cfspb.Record)
	}
	if v.fields["tenant_id"] {
		out.TenantId = r.GetTenantId()
	}
	if v.fields["labels"] {
		out.Labels = slices.Clone(r.GetLabels())
	}
	if v.fields["created_at"] && r.GetCreatedAt() != nil {
		out.CreatedAt = proto.Clone(r.GetCreatedAt()).(*timestamppb.Timestamp)
	}
	if v.fields["integrity"] {
		out.Integrity = slices.Clone(r.GetIntegrity())
	}
	out.Props = v.maskProps(r.GetProps())
	return out
}

// MaskLink is MaskRecord for a link; link_id is always kept.
func (v *View) MaskLink(l *cfspb.Link) *cfspb.Link {
	if v.all {
		return proto.Clone(l).(*cfspb.Link)
	}
	out := &cfspb.Link{LinkId: l.GetLinkId()}
	if v.fields["type"] {
		out.Type = l.GetType()
	}
	if v.fields["source"] {
		out.Source = l.GetSource()
	}
	if v.fields["target"] {
		out.Target = l.GetTarget()
	}
	if v.fields["valid"] && l.GetValid() != nil {
		out.Valid = proto.Clone(l.GetValid()).(*cfspb.Interval)
	}
	if v.fields["system"] && l.GetSystem() != nil {
		out.System = proto.Clone(l.GetSystem()).(*cfspb.Interval)
	}
	if v.fields["assertion_id"] {
		out.AssertionId = l.GetAssertionId()
	}
	if v.fields["integrity"] {
		out.Integrity = slices.Clone(l.GetIntegrity())
	}
	out.Props = v.maskProps(l.GetProps())
	return out
}

func (v *View) maskProps(in map[string]*structpb.Value) map[string]*structpb.Value {
	var out map[string]*structpb.Value
	for k, val := range in {
		if v.fields["props"] || v.props[k] {
			if out == nil {
				out = make(map[string]*structpb.Value)
			}
			out[k] = proto.Clone(val).(*structpb.Value)
		}
	}
	return out
}
