package db

import (
	"context"
	"fmt"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/audit"
)

// streamPage is how many receipts StreamAuditChain holds at a time.
const streamPage = 4000

// StreamAuditChain calls fn with every receipt of the chain in position
// order, reading keyset pages of a few thousand rows: memory stays flat
// whatever the length of the chain (docs/adr/0139). The receipts are those
// WholeAuditChain returns. The next page is read while fn handles the
// current one. An error from fn stops the stream and is returned as is;
// fn may keep the receipts.
//
// Pages are separate statements, not one snapshot: receipts appended while
// the stream runs may be streamed too, which is why a verifier reads the
// chain head first (audit.Verifier.ExpectHead).
func (s *Store) StreamAuditChain(ctx context.Context, fn func(audit.Receipt) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type page struct {
		rows []dbsqlc.AuditChainPageRow
		err  error
	}
	pages := make(chan page, 1)
	go func() {
		defer close(pages)
		var after int64
		for {
			rows, err := s.q.AuditChainPage(ctx, dbsqlc.AuditChainPageParams{AfterPosition: after, MaxRows: streamPage})
			if err != nil {
				err = fmt.Errorf("read audit chain after position %d: %w", after, err)
			}
			pages <- page{rows, err} // the reader of pages drains them all
			if err != nil || len(rows) < streamPage {
				return
			}
			after = rows[len(rows)-1].Position
		}
	}()
	var err error
	for p := range pages {
		if err != nil {
			continue // drain: the reader stops at its next page
		}
		for i := range p.rows {
			var r audit.Receipt
			if r, err = streamedReceipt(&p.rows[i]); err == nil {
				err = fn(r)
			}
			if err != nil {
				cancel()
				break
			}
		}
		if err == nil {
			err = p.err
		}
	}
	return err
}

// streamedReceipt rebuilds a sealed receipt from its stored columns, as
// WholeAuditChain does (UTC time, non-nil targets and context).
func streamedReceipt(row *dbsqlc.AuditChainPageRow) (audit.Receipt, error) {
	ctxMap, err := audit.UnmarshalContext(row.Context)
	if err != nil {
		return audit.Receipt{}, fmt.Errorf("decode context of audit event %s: %w", row.ReceiptID, err)
	}
	if ctxMap == nil {
		ctxMap = map[string]string{}
	}
	targets := row.Targets
	if targets == nil {
		targets = []string{}
	}
	return audit.Receipt{
		ReceiptID: row.ReceiptID,
		Position:  row.Position,
		Actor:     audit.Principal{ID: row.ActorID, Type: audit.PrincipalType(row.ActorType), AuthContext: row.ActorAuthContext},
		Action:    audit.Action(row.Action),
		Targets:   targets,
		Timestamp: row.Ts.UTC(),
		Context:   ctxMap,
		PrevHash:  row.PrevHash,
		Integrity: row.Integrity,
	}, nil
}
