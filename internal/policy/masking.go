package policy

import (
	"fmt"
	"slices"
	"strings"
)

// MaskRule is how a read returns a raw PII column (docs/adr/0133): never
// as it is stored.
type MaskRule string

// The closed set of mask rules.
const (
	// MaskSHA256 returns the hex SHA-256 of the value as <column>_hash:
	// the value the anonymize_pii intervention writes into silver, so it
	// still counts, groups and joins.
	MaskSHA256 MaskRule = "sha256"
	// MaskRedact returns the constant '***' as <column>_redacted.
	MaskRedact MaskRule = "redact"
)

// MaskRules lists the closed set.
var MaskRules = []MaskRule{MaskSHA256, MaskRedact}

// Masking is the privacy wall's masking section: the rule of every raw PII
// column a read returns. Columns names a column ("email", every dataset's)
// or a dataset's ("clientes.email", which wins); any other PII column
// takes Default. A bundle without the section hashes every column.
type Masking struct {
	Default MaskRule            `json:"default" yaml:"default"`
	Columns map[string]MaskRule `json:"columns,omitempty" yaml:"columns,omitempty"`
	// File is the rule file that declared it.
	File string `json:"-" yaml:"-"`
}

// Rule is the mask of dataset.column.
func (m Masking) Rule(dataset, column string) MaskRule {
	if r, ok := m.Columns[dataset+"."+column]; ok {
		return r
	}
	if r, ok := m.Columns[column]; ok {
		return r
	}
	if m.Default != "" {
		return m.Default
	}
	return MaskSHA256
}

// Declared reports whether a rule file declared the section.
func (m Masking) Declared() bool { return m.File != "" }

func (m Masking) validate() error {
	if !slices.Contains(MaskRules, m.Default) {
		return fmt.Errorf("masking.default %q must be one of %v", m.Default, MaskRules)
	}
	for col, r := range m.Columns {
		parts := strings.Split(col, ".")
		if len(parts) > 2 || slices.ContainsFunc(parts, func(p string) bool { return !ruleNameRE.MatchString(p) }) {
			return fmt.Errorf("masking.columns %q must name a column (email) or a dataset's column (clientes.email)", col)
		}
		if !slices.Contains(MaskRules, r) {
			return fmt.Errorf("masking.columns %s: rule %q must be one of %v", col, r, MaskRules)
		}
	}
	return nil
}
