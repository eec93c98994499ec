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
	var out []Receipt
	err := ScanJSONL(r, func(rec Receipt) error {
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// jsonlBuffer holds a line of an export; a longer line is read in pieces.
const jsonlBuffer = 1 << 20

// ScanJSONL reads a WriteJSONL export one line at a time and calls fn with
// each receipt, in file order: memory stays flat whatever the length of
// the file. Blank lines are skipped; errors name the 1-based line, and an
// error from fn stops the scan and is returned as is. It does not verify:
// feed the receipts to a Verifier, or use VerifyJSONL. fn may keep the
// receipts.
//
// Lines as WriteJSONL writes them are decoded by a hand-written decoder;
// any other line (other spellings of the fields, unknown fields, null,
// numbers for enums...) is decoded by protojson, as ReadJSONL always did,
// so the result is the same (docs/adr/0139).
func ScanJSONL(r io.Reader, fn func(Receipt) error) error {
	lr := newJSONLReader(r)
	var scratch []byte
	for {
		b, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var rec Receipt
		if rec, scratch, err = decodeJSONLine(b, scratch); err != nil {
			return lr.lineError(err)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// jsonlReader reads the non-blank lines of an export.
type jsonlReader struct {
	br   *bufio.Reader
	long []byte // a line longer than br's buffer
	line int    // 1-based number of the last line read
	eof  bool
}

func newJSONLReader(r io.Reader) *jsonlReader {
	return &jsonlReader{br: bufio.NewReaderSize(r, jsonlBuffer)}
}

// next returns the next non-blank line, trimmed, valid until the next
// call; io.EOF after the last.
func (lr *jsonlReader) next() ([]byte, error) {
	for !lr.eof {
		lr.line++
		b, err := lr.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			lr.long = append(lr.long[:0], b...)
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = lr.br.ReadSlice('\n')
				lr.long = append(lr.long, b...)
			}
			b = lr.long
		}
		switch {
		case errors.Is(err, io.EOF):
			lr.eof = true
		case err != nil:
			return nil, lr.lineError(err)
		}
		if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 {
			return trimmed, nil
		}
	}
	return nil, io.EOF
}

// lineError names the line just read in err.
func (lr *jsonlReader) lineError(err error) error {
	return fmt.Errorf("audit: read JSONL line %d: %w", lr.line, err)
}

// decodeJSONLine decodes a line of an export by the fast decoder, its
// strings decoded in scratch (returned for the next line), or else by
// protojson.
func decodeJSONLine(b, scratch []byte) (Receipt, []byte, error) {
	if rec, scratch, ok := decodeReceiptJSONInto(b, scratch); ok {
		return rec, scratch, nil
	}
	rec, err := decodeProtoJSON(b)
	return rec, scratch, err
}

// decodeProtoJSON is the reference decoding of a line: protojson, then
// FromProto.
func decodeProtoJSON(b []byte) (Receipt, error) {
	var p cfspb.Receipt
	if err := cfs.UnmarshalJSON(b, &p); err != nil {
		return Receipt{}, fmt.Errorf("%w; fix the line or re-export", err)
	}
	return FromProto(&p)
}
