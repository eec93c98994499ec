package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// WriteJSONL exports receipts one per line as the CFS JSON transport of
// cfspb.Receipt (cfs.MarshalJSON: protojson, snake_case names, one compact
// line). Output is byte-stable, so exports can be golden files; integrity
// survives the round trip because it is computed on the protobuf encoding
// (CFS MUST-007, docs/adr/0033).
func WriteJSONL(w io.Writer, receipts []Receipt) error {
	bw := bufio.NewWriter(w)
	for i, r := range receipts {
		p, err := toProtoChecked(r)
		if err != nil {
			return fmt.Errorf("audit: write JSONL receipt %d (%q): %w; export only receipts made by Seal", i, r.ReceiptID, err)
		}
		b, err := cfs.MarshalJSON(p)
		if err != nil {
			return fmt.Errorf("audit: write JSONL receipt %d (%q): %w", i, r.ReceiptID, err)
		}
		if _, err := bw.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("audit: write JSONL receipt %d (%q): %w", i, r.ReceiptID, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit: write JSONL: flush: %w", err)
	}
	return nil
}

// ReadJSONL imports a WriteJSONL export. Blank lines are skipped; errors
// name the 1-based line. It does not verify: call Verify on the result.
func ReadJSONL(r io.Reader) ([]Receipt, error) {
	br := bufio.NewReader(r)
	var out []Receipt
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("audit: read JSONL line %d: %w", line, err)
		}
		if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 {
			var p cfspb.Receipt
			if uerr := cfs.UnmarshalJSON(trimmed, &p); uerr != nil {
				return nil, fmt.Errorf("audit: read JSONL line %d: %w; fix the line or re-export", line, uerr)
			}
			rec, ferr := FromProto(&p)
			if ferr != nil {
				return nil, fmt.Errorf("audit: read JSONL line %d: %w", line, ferr)
			}
			out = append(out, rec)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
	}
}
