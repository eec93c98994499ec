package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
	"github.com/contextualflux/cfa/internal/contextplane"
)

// The context plane (migration 0023, docs/adr/0147): CFS Records and Links
// as bitemporal versions in Postgres.

var (
	// ErrPlaneNotFound: no record or link with that id at those times.
	ErrPlaneNotFound = errors.New("context plane: not found")
	// ErrInvalidMutation: a mutation the plane refuses (an empty id, a
	// retract of a missing or retracted link, an id put twice in one
	// transaction).
	ErrInvalidMutation = errors.New("context plane: invalid mutation")
)

// Kinds of a Change (cfspb.Change.kind) and its ops.
const (
	kindRecord = "record"
	kindLink   = "link"
	opCreate   = "create"
	opUpdate   = "update"
	opRetract  = "retract"
)

// PlaneID returns this database's context plane id (made by migration
// 0023): the source_plane of what it exports.
func (s *Store) PlaneID(ctx context.Context) (string, error) {
	id, err := s.q.PlaneID(ctx)
	if err != nil {
		return "", fmt.Errorf("read the context plane id: %w: run the migrations (0023)", err)
	}
	return id.String(), nil
}

// ApplyMutations writes muts as new versions in the caller's transaction,
// under commitID (a new commit row with this plane as its source): a put
// closes the system interval of the id's current version and appends the
// new one; a record's old version is kept valid until now by a derived
// copy; retract_link_id appends a version of the link whose valid interval
// ends now. A put whose sealed version equals the current one writes
// nothing and is not in the Diff. The server's time is the clock at the
// transaction's first plane write (cfs_plane_now): put each id once per
// transaction.
func (s *Store) ApplyMutations(ctx context.Context, tx pgx.Tx, commitID, reason, actor string, muts []*cfspb.Mutation) (*cfspb.Diff, error) {
	if commitID == "" {
		return nil, fmt.Errorf("apply context plane mutations: %w: the commit id is empty: pass one (e.g. the proposal id)", ErrInvalidMutation)
	}
	diff, _, err := planeWrite(ctx, s.q.WithTx(tx), commitID, reason, actor, muts, true)
	return diff, err
}

// PlanMutations returns the Diff ApplyMutations would return now and the
// ids it would touch, writing nothing (Propose). Link versions get the
// system time of the apply, so their after_integrity is the one they would
// have now.
func (s *Store) PlanMutations(ctx context.Context, muts []*cfspb.Mutation) (*cfspb.Diff, []string, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("plan context plane mutations: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // never commits
	return planeWrite(ctx, s.q.WithTx(tx), "", "", "", muts, false)
}

// GetRecordAsOf returns the version of recordID valid at asOfValid as the
// plane knew it at asOfSystem (a zero time: now), or ErrPlaneNotFound.
func (s *Store) GetRecordAsOf(ctx context.Context, recordID string, asOfValid, asOfSystem time.Time) (*cfspb.Record, error) {
	var out *cfspb.Record
	err := s.inTx(ctx, readOnlySnapshot, func(q *dbsqlc.Queries) error {
		now, err := q.PlaneNow(ctx)
		if err != nil {
			return fmt.Errorf("read the server time: %w", err)
		}
		v, sy := orNow(asOfValid, now), orNow(asOfSystem, now)
		rows, err := q.RecordsAsOf(ctx, dbsqlc.RecordsAsOfParams{AsOfValid: &v, AsOfSystem: &sy, Ids: []string{recordID}, MaxRows: 1})
		if err != nil {
			return fmt.Errorf("read record %s: %w", recordID, err)
		}
		if len(rows) == 0 {
			return fmt.Errorf("record %s as of valid %s, system %s: %w", recordID, v.Format(time.RFC3339Nano), sy.Format(time.RFC3339Nano), ErrPlaneNotFound)
		}
		out = &cfspb.Record{}
		return decodeStored(rows[0].Canonical, out, recordID)
	})
	return out, err
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t.UTC()
}

// planeWrite plans (write false) or applies muts in q's transaction.
func planeWrite(ctx context.Context, q *dbsqlc.Queries, commitID, reason, actor string, muts []*cfspb.Mutation, write bool) (*cfspb.Diff, []string, error) {
	var recordIDs, linkIDs []string
	seen := map[string]bool{}
	for i, m := range muts {
		var id, kind string
		switch c := m.GetChange().(type) {
		case *cfspb.Mutation_PutRecord:
			id, kind = c.PutRecord.GetRecordId(), kindRecord
			recordIDs = append(recordIDs, id)
		case *cfspb.Mutation_PutLink:
			id, kind = c.PutLink.GetLinkId(), kindLink
			linkIDs = append(linkIDs, id)
		case *cfspb.Mutation_RetractLinkId:
			id, kind = c.RetractLinkId, kindLink
			linkIDs = append(linkIDs, id)
		default:
			return nil, nil, fmt.Errorf("mutation %d: %w: set put_record, put_link or retract_link_id", i, ErrInvalidMutation)
		}
		if id == "" {
			return nil, nil, fmt.Errorf("mutation %d: %w: the %s id is empty", i, ErrInvalidMutation, kind)
		}
		if seen[kind+"\x00"+id] {
			return nil, nil, fmt.Errorf("mutation %d: %w: %s %s is changed twice: one mutation per id", i, ErrInvalidMutation, kind, id)
		}
		seen[kind+"\x00"+id] = true
	}
	curRecords := map[string]dbsqlc.CurrentRecordVersionsRow{}
	if len(recordIDs) > 0 {
		rows, err := q.CurrentRecordVersions(ctx, recordIDs)
		if err != nil {
			return nil, nil, fmt.Errorf("read the current records: %w", err)
		}
		for _, r := range rows {
			curRecords[r.RecordID] = r
		}
	}
	curLinks := map[string]dbsqlc.CurrentLinkVersionsRow{}
	if len(linkIDs) > 0 {
		rows, err := q.CurrentLinkVersions(ctx, linkIDs)
		if err != nil {
			return nil, nil, fmt.Errorf("read the current links: %w", err)
		}
		for _, r := range rows {
			curLinks[r.LinkID] = r
		}
	}

	// The time is read after the current versions are locked: a writer
	// that waited for another's commit writes after it.
	now, err := q.PlaneNow(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read the server time: %w", err)
	}
	now = now.UTC()
	w := &planeWriter{q: q, now: now, commitID: commitID, reason: reason, actor: actor, write: write}
	diff := &cfspb.Diff{}
	var affected []string
	for i, m := range muts {
		var ch *cfspb.Change
		var err error
		switch c := m.GetChange().(type) {
		case *cfspb.Mutation_PutRecord:
			cur, ok := curRecords[c.PutRecord.GetRecordId()]
			ch, err = w.putRecord(ctx, c.PutRecord, cur, ok)
		case *cfspb.Mutation_PutLink:
			cur, ok := curLinks[c.PutLink.GetLinkId()]
			ch, err = w.putLink(ctx, c.PutLink, cur, ok)
		case *cfspb.Mutation_RetractLinkId:
			cur, ok := curLinks[c.RetractLinkId]
			ch, err = w.retractLink(ctx, c.RetractLinkId, cur, ok)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("mutation %d: %w", i, err)
		}
		if ch != nil {
			diff.Changes = append(diff.Changes, ch)
			affected = append(affected, ch.Target)
		}
	}
	return diff, affected, nil
}

type planeWriter struct {
	q                       *dbsqlc.Queries
	now                     time.Time
	commitID, reason, actor string
	write, committed        bool
}

// commit inserts the commit row before the first version that names it.
func (w *planeWriter) commit(ctx context.Context) error {
	if w.committed {
		return nil
	}
	id, err := w.q.PlaneID(ctx)
	if err != nil {
		return fmt.Errorf("read the context plane id: %w", err)
	}
	if err := w.q.InsertPlaneCommit(ctx, dbsqlc.InsertPlaneCommitParams{
		CommitID: w.commitID, CommitTime: w.now, SourcePlane: id.String(), Reason: w.reason, Actor: w.actor,
	}); err != nil {
		return fmt.Errorf("record commit %s: %w", w.commitID, err)
	}
	w.committed = true
	return nil
}

func (w *planeWriter) sameTx(kind, id string, systemFrom time.Time) error {
	if !systemFrom.Before(w.now) {
		return fmt.Errorf("%w: %s %s already has a version from this transaction: put each id once per transaction", ErrInvalidMutation, kind, id)
	}
	return nil
}

func (w *planeWriter) putRecord(ctx context.Context, in *cfspb.Record, cur dbsqlc.CurrentRecordVersionsRow, exists bool) (*cfspb.Change, error) {
	r := proto.Clone(in).(*cfspb.Record)
	r.Integrity = nil
	var before *cfspb.Record
	if exists {
		before = &cfspb.Record{}
		if err := decodeStored(cur.Canonical, before, cur.RecordID); err != nil {
			return nil, err
		}
	}
	// created_at is the system time of the record's creation: the first
	// version's, kept by every later one.
	if r.CreatedAt == nil || cfs.IsNowSentinel(r.CreatedAt) {
		if before != nil && before.CreatedAt != nil {
			r.CreatedAt = before.CreatedAt
		} else {
			r.CreatedAt = timestamppb.New(w.now)
		}
	}
	if err := cfs.SetIntegrity(r); err != nil {
		return nil, fmt.Errorf("seal record %s: %w", r.RecordId, err)
	}
	ch := &cfspb.Change{Target: r.RecordId, Kind: kindRecord, Op: opCreate, AfterIntegrity: r.Integrity}
	if exists {
		if bytes.Equal(cur.Integrity, r.Integrity) {
			return nil, nil // unchanged: no new version
		}
		ch.Op, ch.BeforeIntegrity = opUpdate, cur.Integrity
		ch.ChangedFields = contextplane.ChangedRecordFields(before, r)
	} else {
		ch.ChangedFields = contextplane.ChangedRecordFields(&cfspb.Record{}, r)
	}
	if !w.write {
		return ch, nil
	}
	if err := w.commit(ctx); err != nil {
		return nil, err
	}
	if exists {
		if err := w.sameTx(kindRecord, r.RecordId, cur.SystemFrom); err != nil {
			return nil, err
		}
		if err := w.q.CloseRecordVersion(ctx, dbsqlc.CloseRecordVersionParams{ClosedAt: w.now, Seq: cur.Seq}); err != nil {
			return nil, fmt.Errorf("close record %s: %w", r.RecordId, err)
		}
		// What was valid until now stays known as such (derived, not exported).
		p, err := recordParams(before, cur.Canonical)
		if err != nil {
			return nil, err
		}
		p.ValidFrom, p.ValidTo, p.CommitID, p.Derived = cur.ValidFrom, &w.now, w.commitID, true
		if err := w.q.InsertRecordVersion(ctx, p); err != nil {
			return nil, fmt.Errorf("keep record %s valid until now: %w", r.RecordId, err)
		}
	}
	canonical, err := cfs.Canonical(r)
	if err != nil {
		return nil, err
	}
	p, err := recordParams(r, canonical)
	if err != nil {
		return nil, err
	}
	p.ValidFrom, p.CommitID = w.now, w.commitID
	if err := w.q.InsertRecordVersion(ctx, p); err != nil {
		return nil, fmt.Errorf("append record %s: %w", r.RecordId, err)
	}
	return ch, nil
}

func (w *planeWriter) putLink(ctx context.Context, in *cfspb.Link, cur dbsqlc.CurrentLinkVersionsRow, exists bool) (*cfspb.Change, error) {
	l := proto.Clone(in).(*cfspb.Link)
	l.Integrity = nil
	if l.Type == "" || l.Source == "" || l.Target == "" {
		return nil, fmt.Errorf("%w: link %s needs a type, a source and a target", ErrInvalidMutation, l.LinkId)
	}
	if l.Valid == nil {
		l.Valid = &cfspb.Interval{}
	}
	if l.Valid.From == nil || cfs.IsNowSentinel(l.Valid.From) {
		l.Valid.From = timestamppb.New(w.now)
	}
	if l.Valid.To == nil {
		l.Valid.To = cfs.Forever()
	}
	if err := checkInterval(l.Valid); err != nil {
		return nil, fmt.Errorf("%w: link %s: valid %v", ErrInvalidMutation, l.LinkId, err)
	}
	var before *cfspb.Link
	if exists {
		before = &cfspb.Link{}
		if err := decodeStored(cur.Canonical, before, cur.LinkID); err != nil {
			return nil, err
		}
		// Unchanged: the same link sealed at the current version's system time.
		same := proto.Clone(l).(*cfspb.Link)
		same.System = before.GetSystem()
		if err := cfs.SetIntegrity(same); err != nil {
			return nil, fmt.Errorf("seal link %s: %w", l.LinkId, err)
		}
		if bytes.Equal(same.Integrity, cur.Integrity) {
			return nil, nil
		}
	}
	l.System = &cfspb.Interval{From: timestamppb.New(w.now), To: cfs.Forever()}
	if err := cfs.SetIntegrity(l); err != nil {
		return nil, fmt.Errorf("seal link %s: %w", l.LinkId, err)
	}
	ch := &cfspb.Change{Target: l.LinkId, Kind: kindLink, Op: opCreate, AfterIntegrity: l.Integrity}
	if exists {
		ch.Op, ch.BeforeIntegrity, ch.ChangedFields = opUpdate, cur.Integrity, contextplane.ChangedLinkFields(before, l)
	} else {
		ch.ChangedFields = contextplane.ChangedLinkFields(&cfspb.Link{}, l)
	}
	return ch, w.appendLink(ctx, l, cur, exists)
}

func (w *planeWriter) retractLink(ctx context.Context, id string, cur dbsqlc.CurrentLinkVersionsRow, exists bool) (*cfspb.Change, error) {
	if !exists {
		return nil, fmt.Errorf("retract link %s: %w: no current version", id, ErrPlaneNotFound)
	}
	if !cur.ValidOpen {
		return nil, fmt.Errorf("retract link %s: %w: its valid interval already ended at %s", id, ErrInvalidMutation, cur.ValidTo.Format(time.RFC3339Nano))
	}
	if !cur.ValidFrom.Before(w.now) {
		return nil, fmt.Errorf("retract link %s: %w: it is valid only from %s, after now: put a corrected version instead", id, ErrInvalidMutation, cur.ValidFrom.Format(time.RFC3339Nano))
	}
	before := &cfspb.Link{}
	if err := decodeStored(cur.Canonical, before, id); err != nil {
		return nil, err
	}
	l := proto.Clone(before).(*cfspb.Link)
	l.Integrity = nil
	l.Valid = &cfspb.Interval{From: before.GetValid().GetFrom(), To: timestamppb.New(w.now)}
	l.System = &cfspb.Interval{From: timestamppb.New(w.now), To: cfs.Forever()}
	if err := cfs.SetIntegrity(l); err != nil {
		return nil, fmt.Errorf("seal link %s: %w", id, err)
	}
	ch := &cfspb.Change{Target: id, Kind: kindLink, Op: opRetract, BeforeIntegrity: cur.Integrity, ChangedFields: []string{"system", "valid"}}
	return ch, w.appendLink(ctx, l, cur, true)
}

func (w *planeWriter) appendLink(ctx context.Context, l *cfspb.Link, cur dbsqlc.CurrentLinkVersionsRow, exists bool) error {
	if !w.write {
		return nil
	}
	if err := w.commit(ctx); err != nil {
		return err
	}
	if exists {
		if err := w.sameTx(kindLink, l.LinkId, cur.SystemFrom); err != nil {
			return err
		}
		if err := w.q.CloseLinkVersion(ctx, dbsqlc.CloseLinkVersionParams{ClosedAt: w.now, Seq: cur.Seq}); err != nil {
			return fmt.Errorf("close link %s: %w", l.LinkId, err)
		}
	}
	canonical, err := cfs.Canonical(l)
	if err != nil {
		return err
	}
	p, err := linkParams(l, canonical)
	if err != nil {
		return err
	}
	p.CommitID = w.commitID
	if err := w.q.InsertLinkVersion(ctx, p); err != nil {
		return fmt.Errorf("append link %s: %w", l.LinkId, err)
	}
	return nil
}

// recordParams are the columns of a record version; the caller sets
// valid, commit and derived.
func recordParams(r *cfspb.Record, canonical []byte) (dbsqlc.InsertRecordVersionParams, error) {
	props, err := propsJSON(r.GetProps())
	if err != nil {
		return dbsqlc.InsertRecordVersionParams{}, fmt.Errorf("record %s: %w", r.GetRecordId(), err)
	}
	p := dbsqlc.InsertRecordVersionParams{
		RecordID: r.GetRecordId(), TenantID: r.GetTenantId(), Labels: nonNil(r.GetLabels()), Props: props,
		Integrity: r.GetIntegrity(), Canonical: canonical,
	}
	if r.CreatedAt != nil {
		t := r.CreatedAt.AsTime()
		p.CreatedAt = &t
	}
	return p, nil
}

// linkParams are the columns of a link version; the caller sets the commit.
func linkParams(l *cfspb.Link, canonical []byte) (dbsqlc.InsertLinkVersionParams, error) {
	props, err := propsJSON(l.GetProps())
	if err != nil {
		return dbsqlc.InsertLinkVersionParams{}, fmt.Errorf("link %s: %w", l.GetLinkId(), err)
	}
	p := dbsqlc.InsertLinkVersionParams{
		LinkID: l.GetLinkId(), Type: l.GetType(), Source: l.GetSource(), Target: l.GetTarget(), Props: props,
		AssertionID: l.GetAssertionId(), Integrity: l.GetIntegrity(), Canonical: canonical,
		ValidFrom: l.GetValid().GetFrom().AsTime(),
	}
	if to := l.GetValid().GetTo(); to != nil && !cfs.IsForever(to) {
		t := to.AsTime()
		p.ValidTo = &t
	}
	return p, nil
}

func propsJSON(p map[string]*structpb.Value) ([]byte, error) {
	b, err := protojson.Marshal(&structpb.Struct{Fields: p})
	if err != nil {
		return nil, fmt.Errorf("encode props as JSON: %w", err)
	}
	return b, nil
}

// checkInterval: from set and not "now" or "forever", to after from.
func checkInterval(iv *cfspb.Interval) error {
	from, to := iv.GetFrom(), iv.GetTo()
	if from == nil || cfs.IsForever(from) || from.CheckValid() != nil {
		return fmt.Errorf("from %v: give a valid timestamp", from)
	}
	if from.GetNanos()%1000 != 0 {
		return fmt.Errorf("from %s has sub-microsecond precision: the plane keeps microseconds", from.AsTime().Format(time.RFC3339Nano))
	}
	if cfs.IsForever(to) {
		return nil
	}
	if to.CheckValid() != nil || to.GetNanos()%1000 != 0 || cfs.CompareTimestamps(to, from) <= 0 {
		return fmt.Errorf("to %v: give a microsecond timestamp after from, or forever", to)
	}
	return nil
}

// decodeStored decodes a version's stored canonical bytes.
func decodeStored(b []byte, m proto.Message, id string) error {
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("decode stored version of %s: %w: the row is corrupt", id, err)
	}
	return nil
}

// planeActor is who a registry commit's plane versions are attributed
// to: the intent whose projection wrote them, or the system.
func planeActor(intentID string) string {
	if intentID != "" {
		return "intent:" + intentID
	}
	return "system:cfa"
}

// projectSkill writes a skill's record in q's transaction, the one that
// registers or moves the skill.
func projectSkill(ctx context.Context, q *dbsqlc.Queries, commitID, reason string, sk contextplane.Skill) error {
	put := &cfspb.Mutation{Change: &cfspb.Mutation_PutRecord{PutRecord: contextplane.SkillRecord(sk)}}
	if _, _, err := planeWrite(ctx, q, commitID, reason, "system:cfa", []*cfspb.Mutation{put}, true); err != nil {
		return fmt.Errorf("project skill %s into the context plane: %w", sk.Key, err)
	}
	return nil
}
