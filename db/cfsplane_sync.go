package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
	"github.com/contextualflux/cfa/internal/contextplane"
)

// Sync batch sizes: SyncRequest.batch_size 0 is DefaultSyncBatch; at most
// MaxSyncBatch.
const (
	DefaultSyncBatch = 100
	MaxSyncBatch     = 1000
)

// ErrSyncRefused: ImportPlane refused a batch (an entry that does not
// verify, is out of order, or is not a record or link); nothing of the
// batch was written.
var ErrSyncRefused = errors.New("context plane: sync batch refused")

// ExportPlane answers the CFS Sync protocol: the versions this plane's
// writers asserted after req.cursor, in commit order, as SyncEntry
// messages whose record or link is the stored canonical version, with
// commit_id and commit_time (the version's system time). The derived
// copies a record update keeps are not exported: an import derives them
// again (docs/adr/0147). A filter narrows each kind: tenant_id and labels
// (any of them) the records, link_types the links; artifacts are not in
// the plane. next_cursor resumes after the last entry.
func (s *Store) ExportPlane(ctx context.Context, req *cfspb.SyncRequest) (*cfspb.SyncResponse, error) {
	batch := int(req.GetBatchSize())
	switch {
	case batch < 0:
		return nil, fmt.Errorf("export the context plane: batch_size %d: give 0 (default %d) to %d", batch, DefaultSyncBatch, MaxSyncBatch)
	case batch == 0:
		batch = DefaultSyncBatch
	case batch > MaxSyncBatch:
		batch = MaxSyncBatch
	}
	after, err := contextplane.DecodeSyncCursor(req.GetCursor())
	if err != nil {
		return nil, fmt.Errorf("export the context plane: %w", err)
	}
	out := &cfspb.SyncResponse{}
	err = s.inTx(ctx, readOnlySnapshot, func(q *dbsqlc.Queries) error {
		id, err := q.PlaneID(ctx)
		if err != nil {
			return fmt.Errorf("read the context plane id: %w", err)
		}
		if sp := req.GetSourcePlane(); sp != "" && sp != id.String() {
			return fmt.Errorf("source_plane %s: this is plane %s: ask the plane you sync from", sp, id)
		}
		pos, last := after, after
	scan:
		for {
			rows, err := q.ExportVersions(ctx, dbsqlc.ExportVersionsParams{AfterSeq: pos, MaxRows: queryChunk})
			if err != nil {
				return fmt.Errorf("read versions after %d: %w", pos, err)
			}
			for _, r := range rows {
				if !syncMatches(req.GetFilter(), r) {
					pos = r.Seq
					continue
				}
				if len(out.Entries) == batch {
					out.HasMore = true
					break scan
				}
				e, err := syncEntry(r)
				if err != nil {
					return err
				}
				out.Entries = append(out.Entries, e)
				pos, last = r.Seq, r.Seq
			}
			if len(rows) < queryChunk {
				break
			}
		}
		if !out.HasMore {
			last = pos // everything up to the end was read
		}
		out.NextCursor = contextplane.EncodeSyncCursor(last)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export the context plane: %w", err)
	}
	return out, nil
}

func syncMatches(f *cfspb.SyncFilter, r dbsqlc.ExportVersionsRow) bool {
	if f == nil {
		return true
	}
	switch r.Kind {
	case kindRecord:
		if f.TenantId != "" && r.TenantID != f.TenantId {
			return false
		}
		if len(f.Labels) > 0 && !slices.ContainsFunc(f.Labels, func(l string) bool { return slices.Contains(r.Labels, l) }) {
			return false
		}
	case kindLink:
		if len(f.LinkTypes) > 0 && !slices.Contains(f.LinkTypes, r.Type) {
			return false
		}
	}
	return true
}

func syncEntry(r dbsqlc.ExportVersionsRow) (*cfspb.SyncEntry, error) {
	e := &cfspb.SyncEntry{CommitId: r.CommitID, CommitTime: timestamppb.New(r.CommitTime.UTC())}
	switch r.Kind {
	case kindRecord:
		rec := &cfspb.Record{}
		if err := decodeStored(r.Canonical, rec, fmt.Sprintf("version %d", r.Seq)); err != nil {
			return nil, err
		}
		e.Entry = &cfspb.SyncEntry_Record{Record: rec}
	default:
		l := &cfspb.Link{}
		if err := decodeStored(r.Canonical, l, fmt.Sprintf("version %d", r.Seq)); err != nil {
			return nil, err
		}
		e.Entry = &cfspb.SyncEntry_Link{Link: l}
	}
	return e, nil
}

// SyncCursor returns the last cursor imported from sourcePlane ("" for
// none): where a sync from it resumes.
func (s *Store) SyncCursor(ctx context.Context, sourcePlane string) (string, error) {
	c, err := s.q.GetSyncCursor(ctx, sourcePlane)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the sync cursor of plane %s: %w", sourcePlane, err)
	}
	return c, nil
}

// ImportPlane appends entries exported by sourcePlane, in one
// transaction: it verifies every entry's integrity first and refuses the
// whole batch (ErrSyncRefused, naming the entry) if one does not verify;
// each version keeps the source's system time (commit_time) and commit id
// (docs/adr/0148); and cursor, the source's next_cursor after this batch,
// is recorded for sourcePlane in the same transaction, so an interrupted
// sync resumes from SyncCursor. An entry already imported (same id,
// commit time and integrity) is skipped.
func (s *Store) ImportPlane(ctx context.Context, sourcePlane string, entries []*cfspb.SyncEntry, cursor string) error {
	if sourcePlane == "" {
		return fmt.Errorf("import into the context plane: %w: the source plane is empty: pass the exporting plane's id", ErrSyncRefused)
	}
	for i, e := range entries {
		if err := checkEntry(e); err != nil {
			return fmt.Errorf("import from plane %s: %w: entry %d (%s): %w", sourcePlane, ErrSyncRefused, i, entryName(e), err)
		}
	}
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		own, err := q.PlaneID(ctx)
		if err != nil {
			return fmt.Errorf("read the context plane id: %w", err)
		}
		if own.String() == sourcePlane {
			return fmt.Errorf("%w: plane %s cannot import its own export", ErrSyncRefused, sourcePlane)
		}
		for i, e := range entries {
			if err := importEntry(ctx, q, sourcePlane, e); err != nil {
				return fmt.Errorf("entry %d (%s): %w", i, entryName(e), err)
			}
		}
		if err := q.SetSyncCursor(ctx, dbsqlc.SetSyncCursorParams{SourcePlane: sourcePlane, Cursor: cursor}); err != nil {
			return fmt.Errorf("record the sync cursor: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import from plane %s: %w", sourcePlane, err)
	}
	return nil
}

func entryName(e *cfspb.SyncEntry) string {
	switch x := e.GetEntry().(type) {
	case *cfspb.SyncEntry_Record:
		return "record " + x.Record.GetRecordId()
	case *cfspb.SyncEntry_Link:
		return "link " + x.Link.GetLinkId()
	case *cfspb.SyncEntry_ArtifactMeta:
		return "artifact " + x.ArtifactMeta.GetArtifactId()
	}
	return "empty entry"
}

// checkEntry: a record or link that verifies, a commit, and for a link a
// system interval that opens at the commit time.
func checkEntry(e *cfspb.SyncEntry) error {
	if e.GetCommitId() == "" || e.GetCommitTime() == nil || e.GetCommitTime().CheckValid() != nil || e.GetCommitTime().GetNanos()%1000 != 0 {
		return errors.New("no commit_id or no valid microsecond commit_time")
	}
	switch x := e.GetEntry().(type) {
	case *cfspb.SyncEntry_Record:
		if x.Record.GetRecordId() == "" {
			return errors.New("the record has no record_id")
		}
		return cfs.VerifyIntegrity(x.Record)
	case *cfspb.SyncEntry_Link:
		l := x.Link
		if l.GetLinkId() == "" {
			return errors.New("the link has no link_id")
		}
		if err := cfs.VerifyIntegrity(l); err != nil {
			return err
		}
		if cfs.CompareTimestamps(l.GetSystem().GetFrom(), e.GetCommitTime()) != 0 || !cfs.IsForever(l.GetSystem().GetTo()) {
			return errors.New("the link's system interval is not [commit_time, forever)")
		}
		return checkInterval(l.GetValid())
	case *cfspb.SyncEntry_ArtifactMeta:
		return errors.New("artifacts are not kept in the context plane: export without include_artifacts")
	}
	return errors.New("the entry holds neither a record nor a link")
}

// importEntry appends one verified entry at its commit time: the id's
// current version closes then, as it did on the source.
func importEntry(ctx context.Context, q *dbsqlc.Queries, sourcePlane string, e *cfspb.SyncEntry) error {
	at := e.GetCommitTime().AsTime().UTC()
	if err := q.InsertPlaneCommit(ctx, dbsqlc.InsertPlaneCommitParams{
		CommitID: e.GetCommitId(), CommitTime: at, SourcePlane: sourcePlane, Reason: "sync import",
	}); err != nil {
		return fmt.Errorf("record commit %s: %w", e.GetCommitId(), err)
	}
	switch x := e.GetEntry().(type) {
	case *cfspb.SyncEntry_Record:
		return importRecord(ctx, q, x.Record, e.GetCommitId(), at)
	case *cfspb.SyncEntry_Link:
		return importLink(ctx, q, x.Link, e.GetCommitId(), at)
	}
	return nil
}

func importRecord(ctx context.Context, q *dbsqlc.Queries, r *cfspb.Record, commitID string, at time.Time) error {
	rows, err := q.CurrentRecordVersions(ctx, []string{r.RecordId})
	if err != nil {
		return fmt.Errorf("read the current version: %w", err)
	}
	if len(rows) > 0 {
		cur := rows[0]
		if cur.SystemFrom.Equal(at) && string(cur.Integrity) == string(r.Integrity) {
			return nil // imported already
		}
		if !cur.SystemFrom.Before(at) {
			return fmt.Errorf("%w: its commit_time %s is not after the current version's %s: import in commit order into a plane that did not write this id",
				ErrSyncRefused, at.Format(time.RFC3339Nano), cur.SystemFrom.Format(time.RFC3339Nano))
		}
		if err := q.CloseRecordVersion(ctx, dbsqlc.CloseRecordVersionParams{ClosedAt: at, Seq: cur.Seq}); err != nil {
			return fmt.Errorf("close the current version: %w", err)
		}
		before := &cfspb.Record{}
		if err := decodeStored(cur.Canonical, before, cur.RecordID); err != nil {
			return err
		}
		p, err := recordParams(before, cur.Canonical)
		if err != nil {
			return err
		}
		if err := q.ImportRecordVersion(ctx, dbsqlc.ImportRecordVersionParams{
			RecordID: p.RecordID, TenantID: p.TenantID, Labels: p.Labels, Props: p.Props, CreatedAt: p.CreatedAt,
			Integrity: p.Integrity, Canonical: p.Canonical, ValidFrom: cur.ValidFrom, ValidTo: &at, SystemFrom: at,
			CommitID: commitID, Derived: true,
		}); err != nil {
			return fmt.Errorf("keep the current version valid until %s: %w", at.Format(time.RFC3339Nano), err)
		}
	}
	canonical, err := cfs.Canonical(r)
	if err != nil {
		return err
	}
	p, err := recordParams(r, canonical)
	if err != nil {
		return err
	}
	if err := q.ImportRecordVersion(ctx, dbsqlc.ImportRecordVersionParams{
		RecordID: p.RecordID, TenantID: p.TenantID, Labels: p.Labels, Props: p.Props, CreatedAt: p.CreatedAt,
		Integrity: p.Integrity, Canonical: p.Canonical, ValidFrom: at, SystemFrom: at, CommitID: commitID,
	}); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	return nil
}

func importLink(ctx context.Context, q *dbsqlc.Queries, l *cfspb.Link, commitID string, at time.Time) error {
	rows, err := q.CurrentLinkVersions(ctx, []string{l.LinkId})
	if err != nil {
		return fmt.Errorf("read the current version: %w", err)
	}
	if len(rows) > 0 {
		cur := rows[0]
		if cur.SystemFrom.Equal(at) && string(cur.Integrity) == string(l.Integrity) {
			return nil // imported already
		}
		if !cur.SystemFrom.Before(at) {
			return fmt.Errorf("%w: its commit_time %s is not after the current version's %s: import in commit order into a plane that did not write this id",
				ErrSyncRefused, at.Format(time.RFC3339Nano), cur.SystemFrom.Format(time.RFC3339Nano))
		}
		if err := q.CloseLinkVersion(ctx, dbsqlc.CloseLinkVersionParams{ClosedAt: at, Seq: cur.Seq}); err != nil {
			return fmt.Errorf("close the current version: %w", err)
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
	if err := q.ImportLinkVersion(ctx, dbsqlc.ImportLinkVersionParams{
		LinkID: p.LinkID, Type: p.Type, Source: p.Source, Target: p.Target, Props: p.Props, AssertionID: p.AssertionID,
		Integrity: p.Integrity, Canonical: p.Canonical, ValidFrom: p.ValidFrom, ValidTo: p.ValidTo, SystemFrom: at, CommitID: commitID,
	}); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	return nil
}
