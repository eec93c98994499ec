package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
)

// VerifyJSONL adds to v, in file order, every receipt of a WriteJSONL
// export read from r, and returns how many it read: what ScanJSONL
// feeding v.Add does, faster. A receipt that does not verify does not stop
// the read (v keeps its first error; see Finish), so the count is the
// file's; an unreadable line does, with ScanJSONL's error naming it.
//
// A line as WriteJSONL writes it is turned straight into its canonical
// protobuf encoding and the few fields the checks read, without becoming
// a Receipt; any other line is decoded as ScanJSONL decodes it. Lines are
// read in batches, encoded by one goroutine per core, then hashed and
// checked in file order; a few batches are in flight at a time, so memory
// stays flat whatever the length of the file (docs/adr/0139). VerifyJSONL
// returns once nothing reads r any more.
func VerifyJSONL(r io.Reader, v *Verifier) (int, error) {
	workers := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *lineBatch, workers)
	order := make(chan *lineBatch, 2*workers)
	free := make(chan *lineBatch, 3*workers)
	stop := make(chan struct{})
	go readJSONL(r, work, order, free, stop)
	for range workers {
		go func() {
			var scratch []byte
			for b := range work {
				scratch = b.encode(scratch)
				close(b.done)
			}
		}()
	}
	n := 0
	var err error
	for b := range order {
		<-b.done
		if err == nil {
			for i := range b.links {
				ll := &b.links[i]
				_ = v.check(&ll.link, b.enc[ll.enc.off:ll.enc.off+ll.enc.n])
			}
			n += len(b.links)
			if err = b.err; err != nil {
				close(stop) // the reader stops; the batches read ahead drain
			}
		}
		b.reset()
		select {
		case free <- b:
		default:
		}
	}
	return n, err
}

// lineBatch is a batch of lines of an export, then their links.
type lineBatch struct {
	data    []byte // the lines, end to end
	ends    []int  // where each line ends in data
	numbers []int  // each line's 1-based number in the file
	readErr error  // what ended the file after these lines, if anything
	done    chan struct{}
	linkBatch
}

func (b *lineBatch) reset() {
	b.data, b.ends, b.numbers, b.readErr = b.data[:0], b.ends[:0], b.numbers[:0], nil
	b.linkBatch.reset()
}

// readJSONL reads r into batches of lines, each sent to the workers and,
// in file order, to the checks, until the end of r, a read error or stop.
func readJSONL(r io.Reader, work, order chan<- *lineBatch, free <-chan *lineBatch, stop <-chan struct{}) {
	defer close(work)
	defer close(order)
	lr := newJSONLReader(r)
	for {
		var b *lineBatch
		select {
		case b = <-free:
		default:
			b = &lineBatch{}
		}
		b.done = make(chan struct{})
		var err error
		for len(b.ends) < linkBatchSize {
			var line []byte
			if line, err = lr.next(); err != nil {
				break
			}
			b.data = append(b.data, line...)
			b.ends = append(b.ends, len(b.data))
			b.numbers = append(b.numbers, lr.line)
		}
		if !errors.Is(err, io.EOF) {
			b.readErr = err
		}
		select {
		case order <- b:
		case <-stop:
			return
		}
		work <- b // a worker takes it: the checks wait for it on order
		if err != nil {
			return
		}
	}
}

// encode encodes the batch's lines into links, stopping at a line that
// cannot be decoded; scratch is the worker's, returned for the next batch.
func (b *lineBatch) encode(scratch []byte) []byte {
	start := 0
	for i, end := range b.ends {
		line := b.data[start:end]
		start = end
		if b.addLine(line) {
			continue
		}
		var rec Receipt
		var err error
		if rec, scratch, err = decodeJSONLine(line, scratch); err != nil {
			b.err = fmt.Errorf("audit: read JSONL line %d: %w", b.numbers[i], err)
			b.finish()
			return scratch
		}
		b.addReceipt(&rec)
	}
	b.err = b.readErr
	b.finish()
	return scratch
}

// linkBatch is a batch of receipts read from an export: their links, and
// their canonical encodings end to end in enc.
type linkBatch struct {
	links []lineLink
	enc   []byte // canonical encodings; a fast link's prev_hash and integrity
	text  []byte // the strings of the fast links, end to end
	err   error  // the error that ended the file, after the links
	key   []byte // the previous context key of the line being encoded
}

// lineLink is a link whose memory is the batch's: its encoding at enc in
// b.enc and, for a fast link, until finish sets them on link, its strings
// in b.text and its hashes in b.enc.
type lineLink struct {
	link
	enc  text
	fast bool
	at   struct{ receiptID, ctxPosition, intentID, seq, eventType, prevHash, integrity text }
}

// linkBatchSize is how many lines a batch holds.
const linkBatchSize = 512

func (b *linkBatch) reset() {
	clear(b.links) // drop the receipts' memory
	b.links, b.enc, b.text, b.err = b.links[:0], b.enc[:0], b.text[:0], nil
}

// addReceipt adds a receipt decoded from its line.
func (b *linkBatch) addReceipt(r *Receipt) {
	start := len(b.enc)
	l, enc := receiptLink(r, b.enc)
	b.enc = enc
	b.links = append(b.links, lineLink{link: l, enc: text{start, len(enc) - start}})
}

// finish points the fast links at their strings and bytes, now that the
// batch's memory no longer moves.
func (b *linkBatch) finish() {
	all := string(b.text)
	get := func(t text) string { return all[t.off : t.off+t.n] }
	for i := range b.links {
		ll := &b.links[i]
		if !ll.fast {
			continue
		}
		at := &ll.at
		ll.receiptID, ll.ctxPosition, ll.intentID = get(at.receiptID), get(at.ctxPosition), get(at.intentID)
		ll.seq, ll.eventType = get(at.seq), get(at.eventType)
		ll.prevHash = b.enc[at.prevHash.off : at.prevHash.off+at.prevHash.n : at.prevHash.off+at.prevHash.n]
		ll.integrity = b.enc[at.integrity.off : at.integrity.off+at.integrity.n : at.integrity.off+at.integrity.n]
	}
}

// addLine encodes a line as WriteJSONL writes it, fields in that order,
// and reports whether it did; on false the batch is as it was. The
// encoding is the one a Receipt decoded from the line would have, and so
// are the link's fields (jsonl_verify_test.go holds it to that).
func (b *linkBatch) addLine(line []byte) bool {
	encStart, textStart := len(b.enc), len(b.text)
	ll, ok := b.encodeLine(line)
	if !ok {
		b.enc, b.text = b.enc[:encStart], b.text[:textStart]
		return false
	}
	ll.fast = true
	b.links = append(b.links, ll)
	return true
}

func (b *linkBatch) encodeLine(line []byte) (lineLink, bool) {
	var ll lineLink
	d := lineDecoder{src: line, text: b.enc}
	defer func() { b.enc = d.text }()
	start := len(d.text)
	if !d.consume('{') || !d.key("receipt_id") {
		return ll, false
	}
	id, ok := d.field(tagReceiptID, true)
	if !ok || !d.consume(',') || !d.key("actor") || !d.actorField() || !d.consume(',') || !d.key("action") {
		return ll, false
	}
	name, ok := d.plain()
	action, known := actionNumber(actionNamed(name))
	if !ok || !known {
		return ll, false
	}
	if action != 0 { // READ is the default: absent
		d.text = append(d.text, tagAction, byte(action))
	}
	if !d.consume(',') || !d.key("targets") || !d.targets() || !d.consume(',') || !d.key("timestamp") {
		return ll, false
	}
	raw, ok := d.plain()
	if !ok {
		return ll, false
	}
	ts, ok := parseTimestamp(raw)
	if !ok || !d.consume(',') || !d.key("context") {
		return ll, false
	}
	d.text = appendTimestamp(d.text, ts)
	if !b.context(&d, &ll) || !d.consume(',') || !d.key("prev_hash") {
		return ll, false
	}
	var hash [64]byte
	n, ok := d.base64(hash[:])
	if !ok || !d.consume(',') || !d.key("integrity") {
		return ll, false
	}
	d.text = appendPrevHash(d.text, hash[:n])
	ll.at.prevHash = text{len(d.text) - n, n}
	ll.enc = text{start, len(d.text) - start}
	if n, ok = d.base64(hash[:]); !ok || !d.consume('}') {
		return ll, false
	}
	d.skipSpace()
	if d.pos != len(d.src) {
		return ll, false
	}
	ll.at.integrity = text{len(d.text), n}
	d.text = append(d.text, hash[:n]...)
	// FromProto refuses a context position that is not an integer.
	p := ll.at.ctxPosition
	pos, err := strconv.ParseInt(string(b.text[p.off:p.off+p.n]), 10, 64)
	if err != nil {
		return ll, false
	}
	ll.position = pos
	ll.at.receiptID = text{len(b.text), id.n}
	b.text = append(b.text, d.text[id.off:id.off+id.n]...)
	return ll, true
}

// key reads `"name":` and the space after it.
func (d *lineDecoder) key(name string) bool {
	d.skipSpace()
	k, ok := d.plain()
	if !ok || string(k) != name || !d.consume(':') {
		return false
	}
	d.skipSpace()
	return true
}

// field decodes a string as a length-delimited field of tag (absent when
// empty and omitEmpty: proto3 implicit presence) and returns where its
// bytes are.
func (d *lineDecoder) field(tag byte, omitEmpty bool) (text, bool) {
	mark := len(d.text)
	d.text = append(d.text, tag, 0)
	t, ok := d.str()
	if !ok {
		return t, false
	}
	if t.n == 0 && omitEmpty {
		d.text = d.text[:mark]
		return text{}, true
	}
	d.text = closeLen(d.text, mark+1)
	return text{len(d.text) - t.n, t.n}, true
}

// actorField encodes {"id":..,"type":..,"auth_context":..} as field 2.
func (d *lineDecoder) actorField() bool {
	mark := len(d.text)
	d.text = append(d.text, tagActor, 0)
	if !d.consume('{') || !d.key("id") {
		return false
	}
	if _, ok := d.field(tagPrincipalID, true); !ok || !d.consume(',') || !d.key("type") {
		return false
	}
	name, ok := d.plain()
	typ, known := principalNumber(principalNamed(name))
	if !ok || !known || !d.consume(',') || !d.key("auth_context") {
		return false
	}
	d.text = append(d.text, tagPrincipalType, byte(typ))
	// auth_context is field 3: it follows type in the encoding as in JSON.
	if _, ok := d.field(tagAuthContext, true); !ok || !d.consume('}') {
		return false
	}
	d.text = closeLen(d.text, mark+1)
	return true
}

// targets encodes an array of strings as field 4, every one written.
func (d *lineDecoder) targets() bool {
	if !d.consume('[') {
		return false
	}
	if d.consume(']') {
		return true
	}
	for {
		d.skipSpace()
		if _, ok := d.field(tagTargets, false); !ok {
			return false
		}
		if !d.consume(',') {
			return d.consume(']')
		}
	}
}

// context encodes the context object as field 6 entries, which must come
// sorted by key, as protojson writes them, and keeps the values the
// checks read in b.text.
func (b *linkBatch) context(d *lineDecoder, ll *lineLink) bool {
	if !d.consume('{') || d.consume('}') {
		return false // an empty context has no position: FromProto refuses it
	}
	b.key = b.key[:0]
	havePosition := false
	for first := true; ; first = false {
		d.skipSpace()
		entry := len(d.text)
		d.text = append(d.text, tagContext, 0)
		k, ok := d.field(tagMapKey, false)
		if !ok || !d.consume(':') {
			return false
		}
		key := d.text[k.off : k.off+k.n]
		if !first && bytes.Compare(b.key, key) >= 0 {
			return false // out of order or repeated
		}
		b.key = append(b.key[:0], key...)
		var into *text
		switch string(key) {
		case CtxPosition:
			into, havePosition = &ll.at.ctxPosition, true
		case CtxIntentID:
			into = &ll.at.intentID
		case CtxSeq:
			into = &ll.at.seq
		case CtxEventType:
			into = &ll.at.eventType
		}
		d.skipSpace()
		val, ok := d.field(tagMapValue, false)
		if !ok {
			return false
		}
		d.text = closeLen(d.text, entry+1)
		if into != nil {
			*into = text{len(b.text), val.n}
			b.text = append(b.text, d.text[len(d.text)-val.n:]...)
		}
		if !d.consume(',') {
			return d.consume('}') && havePosition
		}
	}
}
