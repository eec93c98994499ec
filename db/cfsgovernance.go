package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/access"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// CFS governance (docs/adr/0149, 0150): policies and views, reads through
// a view, gates, and the write protocol. Every write is audited in a trail
// of its own, like an operator action: INTENT_RECEIVED, the change,
// INTENT_COMPLETED, under an id CFSTrailPrefix..., in the stage
// StageCFSGovernance. The change's receipt is the trail's second, so its
// id is "<trail>/2".
const (
	CFSTrailPrefix     = "cfs-"
	StageCFSGovernance = "cfs_governance"
)

// Sentinel errors of CFS governance.
var (
	// ErrCFSPolicyNotFound / ErrCFSViewNotFound: no such id (or retired).
	ErrCFSPolicyNotFound = errors.New("cfs policy not found")
	ErrCFSViewNotFound   = errors.New("cfs view not found")
)

// cfsStep is one audited governance step.
type cfsStep struct {
	trail, correlation string
	actor              audit.Principal
	action             audit.Action
	outcome            string
	targets            []string
	details            events.Payload
	at                 time.Time
}

// appendCFSStep records step as its own complete trail and returns the
// receipt of the change (the second event).
func appendCFSStep(ctx context.Context, q *dbsqlc.Queries, st cfsStep) (audit.Receipt, error) {
	detail, err := audit.EncodeDetails(st.details)
	if err != nil {
		return audit.Receipt{}, err
	}
	start, err := audit.EncodeDetails(events.OperatorAction{By: st.actor.ID, Reason: st.outcome, Action: st.details.EventType()})
	if err != nil {
		return audit.Receipt{}, err
	}
	evs := []audit.Event{
		{EventType: audit.EventIntentReceived, Outcome: "received", Action: audit.ActionInvoke, Details: start},
		{EventType: st.details.EventType(), Outcome: st.outcome, Action: st.action, Details: detail},
		{EventType: audit.EventIntentCompleted, Outcome: st.outcome, Action: st.action},
	}
	for i := range evs {
		e := &evs[i]
		e.IntentID, e.Seq, e.CorrelationID, e.Stage = st.trail, int64(i+1), st.correlation, StageCFSGovernance
		e.Actor, e.Targets, e.Timestamp = st.actor, st.targets, st.at
	}
	rs, err := appendEvents(ctx, q, evs)
	if err != nil {
		return audit.Receipt{}, fmt.Errorf("audit %s %s: %w", st.details.EventType(), st.trail, err)
	}
	return rs[1], nil
}

func checkPrincipal(op string, p audit.Principal) error {
	switch p.Type {
	case audit.PrincipalHuman, audit.PrincipalAgent, audit.PrincipalService, audit.PrincipalSystem:
	default:
		return fmt.Errorf("%s: principal %q has type %q: give HUMAN, AGENT, SERVICE or SYSTEM", op, p.ID, p.Type)
	}
	if strings.TrimSpace(p.ID) == "" {
		return fmt.Errorf("%s: say who does it (a principal id): it is recorded in the audit trail", op)
	}
	return nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func nowMicro() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// PutCFSPolicy validates p (access.Validate: an unknown attribute or
// operator is refused) and appends it as the policy's next version, or a
// retirement of it, audited as CFS_POLICY_PUT. It returns the version and
// the receipt id.
func (s *Store) PutCFSPolicy(ctx context.Context, p *cfspb.Policy, retire bool, by audit.Principal) (int32, string, error) {
	if err := checkPrincipal("put cfs policy", by); err != nil {
		return 0, "", err
	}
	if err := access.Validate(p); err != nil {
		return 0, "", fmt.Errorf("put cfs policy: %w", err)
	}
	return s.putDefinition(ctx, "policy", p.GetPolicyId(), p, retire, by)
}

// PutCFSView validates v (its policy_refs must name current policies) and
// appends it as the view's next version, or a retirement, audited as
// CFS_VIEW_PUT.
func (s *Store) PutCFSView(ctx context.Context, v *cfspb.View, retire bool, by audit.Principal) (int32, string, error) {
	if err := checkPrincipal("put cfs view", by); err != nil {
		return 0, "", err
	}
	if !retire {
		policies, err := s.CFSPolicies(ctx)
		if err != nil {
			return 0, "", err
		}
		if _, err := access.LoadView(v, byPolicyID(policies)); err != nil {
			return 0, "", fmt.Errorf("put cfs view: %w", err)
		}
	} else if strings.TrimSpace(v.GetViewId()) == "" {
		return 0, "", fmt.Errorf("retire cfs view: give its view_id")
	}
	return s.putDefinition(ctx, "view", v.GetViewId(), v, retire, by)
}

func (s *Store) putDefinition(ctx context.Context, kind, id string, m proto.Message, retire bool, by audit.Principal) (int32, string, error) {
	if strings.ContainsAny(id, "/ \t\n") || len(id) > 200 {
		return 0, "", fmt.Errorf("put cfs %s %q: an id has no '/' nor space and at most 200 bytes", kind, id)
	}
	canon, err := cfs.Canonical(m)
	if err != nil {
		return 0, "", fmt.Errorf("put cfs %s %s: %w", kind, id, err)
	}
	digest := sha256.Sum256(canon)
	var version int32
	var receiptID string
	err = s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		if err := q.LockCFSPolicies(ctx); err != nil { // one writer of definitions at a time
			return err
		}
		var prev int32
		var prevRetired bool
		if kind == "policy" {
			row, err := q.LatestCFSPolicy(ctx, id)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			prev, prevRetired = row.Version, row.Retired
		} else {
			row, err := q.LatestCFSView(ctx, id)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			prev, prevRetired = row.Version, row.Retired
		}
		if retire && (prev == 0 || prevRetired) {
			return fmt.Errorf("no current cfs %s %q to retire", kind, id)
		}
		version = prev + 1
		now := nowMicro()
		r, err := appendCFSStep(ctx, q, cfsStep{
			trail: CFSTrailPrefix + kind + "-" + id + "-v" + fmt.Sprint(version), correlation: "cfs-" + kind + ":" + id,
			actor: by, action: audit.ActionWrite, outcome: map[bool]string{true: "retired", false: "stored"}[retire],
			targets: []string{"cfs-" + kind + ":" + id}, at: now,
			details: events.CFSDefinitionPut{Kind: kind, ID: id, Version: version, Retired: retire, SHA256: hex.EncodeToString(digest[:])},
		})
		if err != nil {
			return err
		}
		receiptID = r.ReceiptID
		if kind == "policy" {
			return q.InsertCFSPolicy(ctx, dbsqlc.InsertCFSPolicyParams{PolicyID: id, Version: version, Canonical: canon, Digest: digest[:],
				Retired: retire, RecordedBy: by.ID, ReceiptID: receiptID})
		}
		return q.InsertCFSView(ctx, dbsqlc.InsertCFSViewParams{ViewID: id, Version: version, Canonical: canon, Digest: digest[:],
			Retired: retire, RecordedBy: by.ID, ReceiptID: receiptID})
	})
	if err != nil {
		return 0, "", fmt.Errorf("put cfs %s %s: %w", kind, id, err)
	}
	return version, receiptID, nil
}

// CFSPolicies returns the current (latest, not retired) version of every
// CFS policy, by policy_id.
func (s *Store) CFSPolicies(ctx context.Context) ([]*cfspb.Policy, error) {
	return cfsPolicies(ctx, s.q)
}

func cfsPolicies(ctx context.Context, q *dbsqlc.Queries) ([]*cfspb.Policy, error) {
	rows, err := q.CurrentCFSPolicies(ctx)
	if err != nil {
		return nil, fmt.Errorf("read cfs policies: %w", err)
	}
	out := make([]*cfspb.Policy, 0, len(rows))
	for _, r := range rows {
		if r.Retired {
			continue
		}
		p := &cfspb.Policy{}
		if err := proto.Unmarshal(r.Canonical, p); err != nil {
			return nil, fmt.Errorf("decode cfs policy %s v%d: %w", r.PolicyID, r.Version, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// CFSViews returns the current version of every CFS view.
func (s *Store) CFSViews(ctx context.Context) ([]*cfspb.View, error) {
	rows, err := s.q.CurrentCFSViews(ctx)
	if err != nil {
		return nil, fmt.Errorf("read cfs views: %w", err)
	}
	out := make([]*cfspb.View, 0, len(rows))
	for _, r := range rows {
		if r.Retired {
			continue
		}
		v := &cfspb.View{}
		if err := proto.Unmarshal(r.Canonical, v); err != nil {
			return nil, fmt.Errorf("decode cfs view %s v%d: %w", r.ViewID, r.Version, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func byPolicyID(ps []*cfspb.Policy) map[string]*cfspb.Policy {
	m := make(map[string]*cfspb.Policy, len(ps))
	for _, p := range ps {
		m[p.GetPolicyId()] = p
	}
	return m
}

// LoadCFSView reads the current version of viewID and the policies it
// refers to, and loads them (access.LoadView).
func (s *Store) LoadCFSView(ctx context.Context, viewID string) (*access.View, error) {
	var v *access.View
	err := s.inTx(ctx, readOnlySnapshot, func(q *dbsqlc.Queries) error {
		row, err := q.LatestCFSView(ctx, viewID)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && row.Retired) {
			return fmt.Errorf("view %q: %w: `cfa view put FILE` stores one", viewID, ErrCFSViewNotFound)
		}
		if err != nil {
			return err
		}
		def := &cfspb.View{}
		if err := proto.Unmarshal(row.Canonical, def); err != nil {
			return fmt.Errorf("decode cfs view %s v%d: %w", viewID, row.Version, err)
		}
		policies, err := cfsPolicies(ctx, q)
		if err != nil {
			return err
		}
		v, err = access.LoadView(def, byPolicyID(policies))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load cfs view %s: %w", viewID, err)
	}
	return v, nil
}

// ReadRecordThroughView reads recordID as of the given times through the
// view loaded as view, for principal (MUST-006). A record the principal may
// not see and a record that does not exist give the same error,
// access.NotVisible(view, record), and cost the same work: the record is
// always fetched, the policies always evaluated (on view.StandIn when there
// is no record) and the mask always applied;
// the answer is chosen only at the end. Any other failure of the plane is
// returned as it is.
func (s *Store) ReadRecordThroughView(ctx context.Context, view *access.View, recordID string, principal *cfspb.Principal, asOfValid, asOfSystem time.Time) (*cfspb.Record, error) {
	rec, err := s.GetRecordAsOf(ctx, recordID, asOfValid, asOfSystem)
	found := err == nil
	if err != nil && !errors.Is(err, ErrPlaneNotFound) {
		return nil, fmt.Errorf("read record %s through view %s: %w", recordID, view.Definition().GetViewId(), err)
	}
	subject := rec
	if !found {
		subject = view.StandIn(recordID)
	}
	d := view.Decide(principal, subject, time.Now())
	masked := view.MaskRecord(subject)
	if !found || !d.Allowed {
		return nil, access.NotVisible(view.Definition().GetViewId(), recordID)
	}
	return masked, nil
}
