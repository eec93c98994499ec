package replay

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/revalidation"
)

// Record is what was recorded of one intent, and what its
// execution_context names, loaded by version.
type Record struct {
	IntentID string
	// Trail is the intent's audit trail, in causal order.
	Trail []audit.Receipt
	// Plans are its planning records (execution_plans), by
	// intent_signature_hash.
	Plans map[string]Plan
	// Snapshots, Bundles and Catalogs are the registry snapshots, policy
	// bundles and data catalogs Needs names, by version.
	Snapshots map[string]registry.EnvironmentState
	Bundles   map[string]*policy.Bundle
	Catalogs  map[string]*catalog.Catalog
	// Missing says which of them could not be loaded (never recorded, or
	// recorded before content-addressing, ADR 0122): without them the
	// intent cannot be replayed, which is itself an I8 finding.
	Missing []string
	// Units are the units' recorded fingerprints (ADR 0128), for an
	// executed intent.
	Units []UnitFingerprint
}

// Plan is one planning record of the intent, as stored (the plan's JSON
// byte for byte, as it was hashed).
type Plan struct {
	SignatureHash string
	PlanHash      string
	Plan          json.RawMessage
	CodeHash      string
	Artifacts     json.RawMessage
	ReadOnly      bool
	DryRun        bool
}

// Versions are the registry snapshots, policy bundles and catalogs an
// intent's trail names: the consultation at step 2 and every version a
// stale environment re-signed it under at step 12.
type Versions struct {
	Snapshots []string
	Bundles   []string
	Catalogs  []string
}

// Needs reads the versions a trail names, each once, in the order met.
func Needs(trail []audit.Receipt) (Versions, error) {
	var v Versions
	add := func(list *[]string, s string) {
		if s != "" && !slices.Contains(*list, s) {
			*list = append(*list, s)
		}
	}
	for _, r := range trail {
		switch r.EventType() {
		case audit.EventEnvironmentConsulted:
			var c events.EnvironmentConsulted
			if err := decode(r, &c); err != nil {
				return v, err
			}
			add(&v.Snapshots, c.Environment.VersionID)
			add(&v.Bundles, c.PolicyBundleVersion)
			add(&v.Catalogs, c.CatalogSnapshotVersion)
		case audit.EventRevalidation:
			var rv events.Revalidation
			if err := decode(r, &rv); err != nil {
				return v, err
			}
			for _, m := range rv.Mismatches {
				switch m.Field {
				case revalidation.FieldRegistryVersionID:
					add(&v.Snapshots, m.Current)
				case revalidation.FieldPolicyBundleVersion:
					add(&v.Bundles, m.Current)
				case revalidation.FieldCatalogSnapshotVersion:
					add(&v.Catalogs, m.Current)
				}
			}
		}
	}
	return v, nil
}

// event is one receipt of the trail, as the replay reads it.
type event struct {
	Type    string
	Outcome string
	Stage   string
	Seq     int64
	At      time.Time
	Details []byte
}

func (e event) decode(v any) error {
	if err := json.Unmarshal(e.Details, v); err != nil {
		return fmt.Errorf("read %s #%d: %w", e.Type, e.Seq, err)
	}
	return nil
}

func decode(r audit.Receipt, v any) error {
	return eventOf(r).decode(v)
}

func eventOf(r audit.Receipt) event {
	return event{Type: r.EventType(), Outcome: r.Context[audit.CtxOutcome], Stage: r.Context[audit.CtxStage], Seq: r.Seq(),
		At: r.Timestamp.UTC(), Details: []byte(r.Context[audit.CtxDetails])}
}
