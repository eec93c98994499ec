package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
	"github.com/contextualflux/cfa/internal/contextplane"
)

// Read protocol page sizes: QueryRequest.limit 0 is DefaultQueryLimit; at
// most MaxQueryLimit.
const (
	DefaultQueryLimit = 100
	MaxQueryLimit     = 1000
	queryChunk        = 256
)

// ErrInvalidQuery: a QueryRequest the plane refuses (a bad limit, cursor,
// field mask, language or expression); errors.Is also matches the
// contextplane error it wraps.
var ErrInvalidQuery = errors.New("context plane: invalid query")

const foreverText = "forever"

// QueryPlane answers the CFS Read protocol: the records, then the links,
// that match req.query, as valid at as_of_valid and known at as_of_system
// (unset or the CFS "now" value: the server time at the start of the
// query; "forever": the open-ended versions), by id, limit at a time. The
// next_cursor carries the times the first page resolved, so every page
// answers at the same times. With a field mask the messages hold only the
// fields listed and no integrity (docs/adr/0147). No receipt: the API
// adds it. Asked again with the same explicit as_of_system, it answers
// with the same bytes after later writes.
func (s *Store) QueryPlane(ctx context.Context, req *cfspb.QueryRequest) (*cfspb.QueryResponse, error) {
	limit := int(req.GetLimit())
	switch {
	case limit < 0:
		return nil, fmt.Errorf("%w: limit %d: give 0 (default %d) to %d", ErrInvalidQuery, limit, DefaultQueryLimit, MaxQueryLimit)
	case limit == 0:
		limit = DefaultQueryLimit
	case limit > MaxQueryLimit:
		limit = MaxQueryLimit
	}
	filter, err := contextplane.Compile(req.GetQuery())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	}
	mask, err := contextplane.NewMask(req.GetFields())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	}
	digest := queryDigest(req)
	out := &cfspb.QueryResponse{}
	err = s.inTx(ctx, readOnlySnapshot, func(q *dbsqlc.Queries) error {
		now, err := q.PlaneNow(ctx)
		if err != nil {
			return fmt.Errorf("read the server time: %w", err)
		}
		cur := contextplane.QueryCursor{Kind: kindRecord, Query: digest,
			AsOfValid: asOfText(req.GetAsOfValid(), now), AsOfSystem: asOfText(req.GetAsOfSystem(), now)}
		if req.GetCursor() != "" {
			c, err := contextplane.DecodeQueryCursor(req.GetCursor())
			if err != nil {
				return fmt.Errorf("%w: %w", ErrInvalidQuery, err)
			}
			if c.Query != digest || !sameAsOf(req.GetAsOfValid(), c.AsOfValid, cur.AsOfValid) || !sameAsOf(req.GetAsOfSystem(), c.AsOfSystem, cur.AsOfSystem) {
				return fmt.Errorf("%w: %w: the cursor belongs to another query or other as_of times: repeat the first page's request with the cursor", ErrInvalidQuery, contextplane.ErrInvalidCursor)
			}
			cur = c
		}
		valid, err := asOfTime(cur.AsOfValid)
		if err != nil {
			return err
		}
		system, err := asOfTime(cur.AsOfSystem)
		if err != nil {
			return err
		}
		n := 0
		var last contextplane.QueryCursor
		more := false
		if cur.Kind == kindRecord && filter.Records() {
			after := cur.After
		records:
			for {
				rows, err := q.RecordsAsOf(ctx, dbsqlc.RecordsAsOfParams{AfterID: after, AsOfValid: valid, AsOfSystem: system, Ids: []string{}, MaxRows: queryChunk})
				if err != nil {
					return fmt.Errorf("read records: %w", err)
				}
				for _, r := range rows {
					after = r.RecordID
					rec := &cfspb.Record{}
					if err := decodeStored(r.Canonical, rec, r.RecordID); err != nil {
						return err
					}
					if !filter.MatchRecord(rec) {
						continue
					}
					if n == limit {
						more = true
						break records
					}
					out.Records = append(out.Records, mask.Record(rec))
					n++
					last = cur
					last.Kind, last.After = kindRecord, r.RecordID
				}
				if len(rows) < queryChunk {
					break
				}
			}
		}
		if !more && filter.Links() {
			after := ""
			if cur.Kind == kindLink {
				after = cur.After
			}
		links:
			for {
				rows, err := q.LinksAsOf(ctx, dbsqlc.LinksAsOfParams{AfterID: after, AsOfValid: valid, AsOfSystem: system, MaxRows: queryChunk})
				if err != nil {
					return fmt.Errorf("read links: %w", err)
				}
				for _, r := range rows {
					after = r.LinkID
					l := &cfspb.Link{}
					if err := decodeStored(r.Canonical, l, r.LinkID); err != nil {
						return err
					}
					if !filter.MatchLink(l) {
						continue
					}
					if n == limit {
						more = true
						break links
					}
					out.Links = append(out.Links, mask.Link(l))
					n++
					last = cur
					last.Kind, last.After = kindLink, r.LinkID
				}
				if len(rows) < queryChunk {
					break
				}
			}
		}
		if more {
			out.NextCursor = last.Encode()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("query the context plane: %w", err)
	}
	return out, nil
}

// queryDigest names the query and mask a cursor answers.
func queryDigest(req *cfspb.QueryRequest) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q", req.GetQuery().GetLanguage(), req.GetQuery().GetExpression())
	for _, p := range req.GetFields().GetPaths() {
		fmt.Fprintf(h, " %q", p)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// asOfText resolves an as_of field: unset or "now" is now, "forever" is
// "forever", else the time, RFC 3339 with nanoseconds.
func asOfText(ts *timestamppb.Timestamp, now time.Time) string {
	switch {
	case ts == nil || cfs.IsNowSentinel(ts):
		return now.UTC().Format(time.RFC3339Nano)
	case cfs.IsForever(ts):
		return foreverText
	}
	return ts.AsTime().UTC().Format(time.RFC3339Nano)
}

// sameAsOf: a later page may leave an as_of unset ("now" is the first
// page's) or repeat the first page's.
func sameAsOf(ts *timestamppb.Timestamp, inCursor, resolved string) bool {
	return ts == nil || cfs.IsNowSentinel(ts) || inCursor == resolved
}

// asOfTime is nil for "forever" (the query's open-ended versions).
func asOfTime(s string) (*time.Time, error) {
	if s == foreverText {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: as_of %q", ErrInvalidQuery, contextplane.ErrInvalidCursor, s)
	}
	return &t, nil
}
