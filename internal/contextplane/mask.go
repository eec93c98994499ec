package contextplane

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// ErrInvalidMask: a field mask path names no field of Record or Link.
var ErrInvalidMask = errors.New("invalid field mask")

var (
	recordFields = []string{"record_id", "tenant_id", "labels", "props", "created_at", "integrity"}
	linkFields   = []string{"link_id", "type", "source", "target", "props", "valid", "system", "assertion_id", "integrity"}
)

// Mask is a checked field mask. The Read protocol returns only the fields
// it lists (and props.<key>: only those props); every other field is
// removed entirely. The id is always returned. A masked message is not the
// stored version, so its integrity is cleared: only an unmasked answer can
// be verified against the stored hash (docs/adr/0147).
type Mask struct {
	all   bool
	top   map[string]bool
	props map[string]bool
}

// NewMask checks fm. An empty or nil mask keeps everything.
func NewMask(fm *fieldmaskpb.FieldMask) (*Mask, error) {
	m := &Mask{top: map[string]bool{}, props: map[string]bool{}}
	if len(fm.GetPaths()) == 0 {
		m.all = true
		return m, nil
	}
	for _, p := range fm.GetPaths() {
		if k, ok := strings.CutPrefix(p, "props."); ok {
			if k == "" {
				return nil, fmt.Errorf("%w: %q names no prop: write props.<key>", ErrInvalidMask, p)
			}
			m.props[k] = true
			continue
		}
		if !slices.Contains(recordFields, p) && !slices.Contains(linkFields, p) {
			return nil, fmt.Errorf("%w: %q: use a Record field (%s), a Link field (%s) or props.<key>",
				ErrInvalidMask, p, strings.Join(recordFields, ", "), strings.Join(linkFields, ", "))
		}
		m.top[p] = true
	}
	return m, nil
}

// All reports whether the mask keeps everything.
func (m *Mask) All() bool { return m.all }

// Record returns r masked (r itself when the mask keeps everything).
func (m *Mask) Record(r *cfspb.Record) *cfspb.Record {
	if m.all {
		return r
	}
	out := &cfspb.Record{RecordId: r.GetRecordId()}
	if m.top["tenant_id"] {
		out.TenantId = r.GetTenantId()
	}
	if m.top["labels"] {
		out.Labels = r.GetLabels()
	}
	if m.top["created_at"] {
		out.CreatedAt = r.GetCreatedAt()
	}
	out.Props = m.maskProps(r.GetProps())
	return out
}

// Link returns l masked.
func (m *Mask) Link(l *cfspb.Link) *cfspb.Link {
	if m.all {
		return l
	}
	out := &cfspb.Link{LinkId: l.GetLinkId()}
	if m.top["type"] {
		out.Type = l.GetType()
	}
	if m.top["source"] {
		out.Source = l.GetSource()
	}
	if m.top["target"] {
		out.Target = l.GetTarget()
	}
	if m.top["valid"] {
		out.Valid = proto.Clone(l.GetValid()).(*cfspb.Interval)
	}
	if m.top["system"] {
		out.System = proto.Clone(l.GetSystem()).(*cfspb.Interval)
	}
	if m.top["assertion_id"] {
		out.AssertionId = l.GetAssertionId()
	}
	out.Props = m.maskProps(l.GetProps())
	return out
}

func (m *Mask) maskProps(p map[string]*structpb.Value) map[string]*structpb.Value {
	if m.top["props"] {
		return p
	}
	var out map[string]*structpb.Value
	for k, v := range p {
		if m.props[k] {
			if out == nil {
				out = map[string]*structpb.Value{}
			}
			out[k] = v
		}
	}
	return out
}
