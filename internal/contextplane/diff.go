package contextplane

import (
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// ChangedRecordFields names what differs between two versions of a
// record: top-level fields, and props.<key> for each prop added, removed
// or changed, sorted. integrity is not named.
func ChangedRecordFields(before, after *cfspb.Record) []string {
	var out []string
	if before.GetRecordId() != after.GetRecordId() {
		out = append(out, "record_id")
	}
	if before.GetTenantId() != after.GetTenantId() {
		out = append(out, "tenant_id")
	}
	if !slices.Equal(before.GetLabels(), after.GetLabels()) {
		out = append(out, "labels")
	}
	if !proto.Equal(before.GetCreatedAt(), after.GetCreatedAt()) {
		out = append(out, "created_at")
	}
	out = append(out, changedProps(before.GetProps(), after.GetProps())...)
	slices.Sort(out)
	return out
}

// ChangedLinkFields is ChangedRecordFields for links.
func ChangedLinkFields(before, after *cfspb.Link) []string {
	var out []string
	for _, f := range []struct {
		name string
		diff bool
	}{
		{"link_id", before.GetLinkId() != after.GetLinkId()},
		{"type", before.GetType() != after.GetType()},
		{"source", before.GetSource() != after.GetSource()},
		{"target", before.GetTarget() != after.GetTarget()},
		{"valid", !proto.Equal(before.GetValid(), after.GetValid())},
		{"system", !proto.Equal(before.GetSystem(), after.GetSystem())},
		{"assertion_id", before.GetAssertionId() != after.GetAssertionId()},
	} {
		if f.diff {
			out = append(out, f.name)
		}
	}
	out = append(out, changedProps(before.GetProps(), after.GetProps())...)
	slices.Sort(out)
	return out
}

func changedProps(a, b map[string]*structpb.Value) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || !proto.Equal(v, w) {
			out = append(out, "props."+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "props."+k)
		}
	}
	return out
}
