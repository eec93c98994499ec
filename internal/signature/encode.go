package signature

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// This file writes the canonical encoding of docs/adr/0003 directly, the
// same bytes encoding/json produces for Canonical() with HTML escaping off
// (TestAppendCanonicalMatchesEncodingJSON checks them against each other).
// Encoding a signature is on the hot path of every decision (Sign, then
// one Hash per Govern attempt), and reflection-driven encoding/json cost
// more than the policy evaluation itself.
//
// The rules mirrored from encoding/json: fields in declaration order;
// omitempty drops "", 0, nil pointers and empty slices; a slice without
// omitempty is null when nil (Canonical makes an empty Operations nil and
// Datasets never nil); strings are quoted with encoding/json's own escaping.

// appendCanonical appends the canonical encoding of s to b.
func appendCanonical(b []byte, s Signature) []byte {
	if !s.isCanonical() {
		s = s.Canonical()
	}
	b = append(b, `{"domain":`...)
	b = appendString(b, s.Domain)
	b = append(b, `,"intent":`...)
	b = appendString(b, s.Intent)
	if s.SourceType != "" {
		b = append(b, `,"source_type":`...)
		b = appendString(b, s.SourceType)
	}
	if s.TargetLayer != "" {
		b = append(b, `,"target_layer":`...)
		b = appendString(b, s.TargetLayer)
	}
	b = append(b, `,"operations":`...)
	if len(s.Operations) == 0 {
		b = append(b, "null"...) // Canonical turns no operations into nil
	} else {
		b = appendStrings(b, s.Operations)
	}
	b = append(b, `,"datasets":[`...)
	for i, d := range s.Datasets {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDataset(b, d)
	}
	b = append(b, ']')
	if s.Selection != nil {
		b = appendSelection(append(b, `,"selection":`...), *s.Selection)
	}
	b = append(b, `,"constraints":`...)
	b = appendConstraints(b, s.Constraints)
	b = appendOptionalString(b, `,"execution_mode":`, s.ExecutionMode)
	b = appendOptionalString(b, `,"time_window":`, s.TimeWindow)
	if s.CrossDatasetAtomic {
		b = append(b, `,"cross_dataset_atomic":true`...)
	}
	b = appendOptionalStrings(b, `,"declared_imports":`, s.DeclaredImports)
	b = appendOptionalStrings(b, `,"declared_patterns":`, s.DeclaredPatterns)
	b = append(b, `,"replan":`...)
	b = strconv.AppendInt(b, int64(s.Replan), 10)
	b = append(b, `,"execution_context":{"policy_bundle_version":`...)
	b = appendString(b, s.ExecutionContext.PolicyBundleVersion)
	b = append(b, `,"catalog_snapshot_version":`...)
	b = appendString(b, s.ExecutionContext.CatalogSnapshotVersion)
	b = append(b, `,"registry_version_id":`...)
	b = appendString(b, s.ExecutionContext.RegistryVersionID)
	return append(b, "}}"...)
}

func appendDataset(b []byte, d Dataset) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, d.Name)
	b = append(b, `,"role":`...)
	b = appendString(b, d.Role)
	b = appendOptionalString(b, `,"layer":`, d.Layer)
	b = appendOptionalString(b, `,"size":`, d.Size)
	if d.SizeBytes != 0 {
		b = append(b, `,"size_bytes":`...)
		b = strconv.AppendInt(b, d.SizeBytes, 10)
	}
	b = appendOptionalString(b, `,"classification":`, d.Classification)
	b = appendOptionalString(b, `,"source_type":`, d.SourceType)
	b = appendOptionalStrings(b, `,"pii":`, d.PII)
	b = appendOptionalString(b, `,"partition_key":`, d.PartitionKey)
	b = appendOptionalString(b, `,"merge_key":`, d.MergeKey)
	return append(b, '}')
}

func appendSelection(b []byte, s Selection) []byte {
	b = append(b, '{')
	n := len(b)
	b = appendOptionalStrings(b, `,"columns":`, s.Columns)
	b = appendOptionalStrings(b, `,"group_by":`, s.GroupBy)
	if len(s.Measures) > 0 {
		b = append(b, `,"measures":[`...)
		for i, m := range s.Measures {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(append(b, `{"function":`...), m.Function)
			b = appendOptionalString(b, `,"column":`, m.Column)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(s.Filters) > 0 {
		b = append(b, `,"filters":[`...)
		for i, f := range s.Filters {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(append(b, `{"column":`...), f.Column)
			b = appendString(append(b, `,"operator":`...), f.Operator)
			b = appendString(append(b, `,"value":`...), f.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(b) > n { // drop the comma the first field wrote
		b = append(b[:n], b[n+1:]...)
	}
	return append(b, '}')
}

func appendConstraints(b []byte, c Constraints) []byte {
	b = append(b, `{"no_pii_raw":`...)
	b = strconv.AppendBool(b, c.NoPIIRaw)
	b = appendOptionalStrings(b, `,"partition_by":`, c.PartitionBy)
	b = append(b, `,"enforce_types":`...)
	b = strconv.AppendBool(b, c.EnforceTypes)
	b = append(b, `,"merge_key_required":`...)
	b = strconv.AppendBool(b, c.MergeKeyRequired)
	b = appendOptionalString(b, `,"merge_key":`, c.MergeKey)
	if tf := c.TemporalFilter; tf != nil {
		b = append(b, `,"temporal_filter":{"column":`...)
		b = appendString(b, tf.Column)
		b = appendOptionalString(b, `,"from":`, tf.From)
		b = appendOptionalString(b, `,"to":`, tf.To)
		if tf.LastDays != 0 {
			b = append(b, `,"last_days":`...)
			b = strconv.AppendInt(b, int64(tf.LastDays), 10)
		}
		b = append(b, '}')
	}
	b = appendOptionalStrings(b, `,"anonymize":`, c.Anonymize)
	b = appendOptionalStrings(b, `,"publish_blocked":`, c.PublishBlocked)
	return append(b, '}')
}

// appendOptionalString writes key and s unless s is empty (omitempty).
func appendOptionalString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, key...), s)
}

// appendOptionalStrings writes key and ss unless ss is empty (omitempty).
func appendOptionalStrings(b []byte, key string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	return appendStrings(append(b, key...), ss)
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString quotes s as encoding/json does without HTML escaping.
// Printable ASCII other than '"' and '\\' is written as is; anything else
// (control characters, non-ASCII, invalid UTF-8) goes through encoding/json
// itself, so its escaping rules are followed exactly.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// isCanonical reports whether s is already in the form Canonical returns,
// as far as the encoding can tell: every set strictly increasing (sorted,
// no duplicates) and the datasets ordered by role then name. Such a
// signature encodes as is, without the copy Canonical makes.
func (s Signature) isCanonical() bool {
	if !strictlyIncreasing(s.Operations, cmpOps) ||
		!strictlyIncreasing(s.Constraints.PartitionBy, strings.Compare) ||
		!strictlyIncreasing(s.Constraints.Anonymize, strings.Compare) ||
		!strictlyIncreasing(s.Constraints.PublishBlocked, strings.Compare) ||
		!strictlyIncreasing(s.DeclaredImports, strings.Compare) ||
		!strictlyIncreasing(s.DeclaredPatterns, strings.Compare) {
		return false
	}
	if s.Selection != nil && !s.Selection.isCanonical() || s.ExecutionMode == ModeBatch {
		return false
	}
	for i, d := range s.Datasets {
		if !strictlyIncreasing(d.PII, strings.Compare) {
			return false
		}
		if i > 0 && cmpDatasets(s.Datasets[i-1], d) > 0 {
			return false
		}
	}
	return true
}

// strictlyIncreasing: sortedUnique(ss, cmp) would return the same strings.
// Both orders used are total (cmp is 0 only for equal strings).
func strictlyIncreasing(ss []string, cmp func(a, b string) int) bool {
	for i := 1; i < len(ss); i++ {
		if cmp(ss[i-1], ss[i]) >= 0 {
			return false
		}
	}
	return true
}

func (s *Selection) isCanonical() bool {
	if s.Empty() {
		return false // Canonical makes it nil
	}
	if !strictlyIncreasing(s.Columns, strings.Compare) || !strictlyIncreasing(s.GroupBy, strings.Compare) {
		return false
	}
	for i := 1; i < len(s.Measures); i++ {
		if cmpMeasures(s.Measures[i-1], s.Measures[i]) >= 0 {
			return false
		}
	}
	for i := 1; i < len(s.Filters); i++ {
		if cmpFilters(s.Filters[i-1], s.Filters[i]) >= 0 {
			return false
		}
	}
	return true
}
