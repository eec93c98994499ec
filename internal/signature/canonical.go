package signature

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// opOrder is the pipeline order operations are canonicalised into, so two
// phrasings of the same intent give the same signature.
// A read stands alone (it writes nothing); it comes last so the ranks of
// the other operations did not change when it was added.
var opOrder = []string{OpIngest, OpAnonymize, OpJoin, OpEnrich, OpDedupe, OpAggregate, OpMerge, OpPublish, OpRead}

// OpRank returns an operation's place in the pipeline order (-1 if unknown).
func OpRank(op string) int { return slices.Index(opOrder, op) }

// Canonical returns a normalised deep copy: sets sorted and de-duplicated,
// datasets ordered by role then name, operations in pipeline order. Two
// signatures that mean the same contract have equal Canonical forms.
func (s Signature) Canonical() Signature {
	c := s
	c.Operations = sortedUnique(s.Operations, cmpOps)
	c.Datasets = make([]Dataset, len(s.Datasets))
	for i, d := range s.Datasets {
		d.PII = sortedUnique(d.PII, strings.Compare)
		c.Datasets[i] = d
	}
	slices.SortStableFunc(c.Datasets, cmpDatasets)
	c.Selection = canonicalSelection(s.Selection)
	if c.ExecutionMode == ModeBatch {
		c.ExecutionMode = ""
	}
	c.Constraints.PartitionBy = sortedUnique(s.Constraints.PartitionBy, strings.Compare)
	c.Constraints.Anonymize = sortedUnique(s.Constraints.Anonymize, strings.Compare)
	c.Constraints.PublishBlocked = sortedUnique(s.Constraints.PublishBlocked, strings.Compare)
	if s.Constraints.TemporalFilter != nil {
		tf := *s.Constraints.TemporalFilter
		c.Constraints.TemporalFilter = &tf
	}
	c.DeclaredImports = sortedUnique(s.DeclaredImports, strings.Compare)
	c.DeclaredPatterns = sortedUnique(s.DeclaredPatterns, strings.Compare)
	return c
}

// Encode returns the canonical encoding: the JSON of Canonical() with fields
// in declaration order, no HTML escaping and no trailing newline. Struct
// fields (never maps) keep the byte order fixed across runs (I8). The bytes
// are encoding/json's; appendCanonical writes them without reflection.
func (s Signature) Encode() ([]byte, error) {
	return appendCanonical(make([]byte, 0, encodeSizeHint), s), nil
}

// Hash returns intent_signature_hash: hex SHA-256 of the canonical encoding.
func (s Signature) Hash() (string, error) {
	var buf [encodeSizeHint]byte
	sum := sha256.Sum256(appendCanonical(buf[:0], s))
	return hex.EncodeToString(sum[:]), nil
}

// ShapeHash is the hash of what the intent does, without where and when it
// was signed: execution_context and the replan counter are cleared. It keys
// the Pre-cost Estimator's execution history (5.5 feedback_loop): a
// recurring pipeline re-signed against each new registry version is still
// the same work (docs/adr/0095).
func (s Signature) ShapeHash() (string, error) {
	s.ExecutionContext = ExecutionContext{}
	s.Replan = 0
	return s.Canonical().Hash()
}

// encodeSizeHint fits the encoding of a typical signature (two or three
// datasets), so encoding rarely grows its buffer.
const encodeSizeHint = 1024

// HasOp reports whether the signature asks for operation op.
func (s Signature) HasOp(op string) bool { return slices.Contains(s.Operations, op) }

// DatasetNames lists the names of every dataset the intent touches, in the
// signature's order.
func (s Signature) DatasetNames() []string {
	out := make([]string, 0, len(s.Datasets))
	for _, d := range s.Datasets {
		out = append(out, d.Name)
	}
	return out
}

// Sources returns the datasets read by the intent.
func (s Signature) Sources() []Dataset { return s.byRole(RoleSource) }

// Targets returns the datasets written by the intent.
func (s Signature) Targets() []Dataset { return s.byRole(RoleTarget) }

func (s Signature) byRole(role string) []Dataset {
	var out []Dataset
	for _, d := range s.Datasets {
		if d.Role == role {
			out = append(out, d)
		}
	}
	return out
}

// DestinationLayer is the layer written: "silver" for "bronze_to_silver",
// the layer itself for a lone layer, "" for a read-only intent.
func (s Signature) DestinationLayer() string {
	if i := strings.LastIndex(s.TargetLayer, "_to_"); i >= 0 {
		return s.TargetLayer[i+len("_to_"):]
	}
	return s.TargetLayer
}

func rankOrLast(op string) int {
	if r := OpRank(op); r >= 0 {
		return r
	}
	return len(opOrder)
}

// cmpOps orders operations by pipeline rank, unknown ones last by name.
func cmpOps(a, b string) int { return cmpInt(rankOrLast(a), rankOrLast(b), a, b) }

// cmpDatasets orders datasets by role then name.
func cmpDatasets(a, b Dataset) int {
	if a.Role != b.Role {
		return strings.Compare(a.Role, b.Role)
	}
	return strings.Compare(a.Name, b.Name)
}

func cmpInt(a, b int, sa, sb string) int {
	if a != b {
		return a - b
	}
	return strings.Compare(sa, sb)
}

func sortedUnique(in []string, cmp func(a, b string) int) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.SortFunc(out, cmp)
	return slices.Compact(out)
}

// Clone returns a deep copy: a change to the copy's slices or filter never
// reaches s (a plug-in is handed a clone).
func (s Signature) Clone() Signature {
	c := s
	c.Operations = slices.Clone(s.Operations)
	c.Datasets = make([]Dataset, len(s.Datasets))
	for i, d := range s.Datasets {
		d.PII = slices.Clone(d.PII)
		c.Datasets[i] = d
	}
	if s.Datasets == nil {
		c.Datasets = nil
	}
	if s.Selection != nil {
		sel := Selection{Columns: slices.Clone(s.Selection.Columns), GroupBy: slices.Clone(s.Selection.GroupBy),
			Measures: slices.Clone(s.Selection.Measures), Filters: slices.Clone(s.Selection.Filters)}
		c.Selection = &sel
	}
	c.Constraints.PartitionBy = slices.Clone(s.Constraints.PartitionBy)
	c.Constraints.Anonymize = slices.Clone(s.Constraints.Anonymize)
	c.Constraints.PublishBlocked = slices.Clone(s.Constraints.PublishBlocked)
	if f := s.Constraints.TemporalFilter; f != nil {
		copied := *f
		c.Constraints.TemporalFilter = &copied
	}
	c.DeclaredImports = slices.Clone(s.DeclaredImports)
	c.DeclaredPatterns = slices.Clone(s.DeclaredPatterns)
	return c
}

// canonicalSelection sorts and de-duplicates every list of a selection; an
// empty selection is nil, so it leaves the encoding of a whole-dataset
// intent unchanged.
func canonicalSelection(s *Selection) *Selection {
	if s.Empty() {
		return nil
	}
	c := Selection{
		Columns:  sortedUnique(s.Columns, strings.Compare),
		GroupBy:  sortedUnique(s.GroupBy, strings.Compare),
		Measures: slices.Clone(s.Measures),
		Filters:  slices.Clone(s.Filters),
	}
	slices.SortFunc(c.Measures, cmpMeasures)
	c.Measures = slices.Compact(c.Measures)
	slices.SortFunc(c.Filters, cmpFilters)
	c.Filters = slices.Compact(c.Filters)
	if len(c.Measures) == 0 {
		c.Measures = nil
	}
	if len(c.Filters) == 0 {
		c.Filters = nil
	}
	return &c
}

func cmpMeasures(a, b Measure) int {
	if a.Function != b.Function {
		return strings.Compare(a.Function, b.Function)
	}
	return strings.Compare(a.Column, b.Column)
}

func cmpFilters(a, b RowFilter) int {
	for _, p := range [][2]string{{a.Column, b.Column}, {a.Operator, b.Operator}, {a.Value, b.Value}} {
		if c := strings.Compare(p[0], p[1]); c != 0 {
			return c
		}
	}
	return 0
}
