// Package denylist is an example policy_engine.external_compliance_validator
// (extension.ComplianceValidator): it refuses every intent that touches a
// dataset on a deny list, such as the embargo list of a legacy compliance
// system that CFA's policy bundle does not know about.
//
// It uses only the public package extension, so a deployment can copy it
// into its own module.
package denylist

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/contextualflux/cfa/extension"
)

// Code is the fault code of a refused intent.
const Code = "LEGACY_EMBARGO"

// Name is the validator's name; the core records it in each fault's rule
// (external_compliance_validator:<Name>).
const Name = "legacy_embargo_denylist"

// Validator refuses intents that read or write a denied dataset. It is
// immutable once built, so one Validator serves concurrent activities.
type Validator struct {
	denied map[string]struct{}
	reason string
}

var _ extension.ComplianceValidator = (*Validator)(nil)

// New returns a validator that denies the catalog datasets named in
// datasets (matched case-insensitively, surrounding spaces ignored) for
// reason, the sentence put in every fault (e.g. "under fiscal embargo in
// the legacy compliance system").
func New(datasets []string, reason string) *Validator {
	v := &Validator{denied: make(map[string]struct{}, len(datasets)), reason: strings.TrimSpace(reason)}
	for _, d := range datasets {
		if d = normalize(d); d != "" {
			v.denied[d] = struct{}{}
		}
	}
	return v
}

// Name is the validator's name.
func (*Validator) Name() string { return Name }

// Denied returns the denied dataset names, sorted.
func (v *Validator) Denied() []string {
	out := make([]string, 0, len(v.denied))
	for d := range v.denied {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// Validate returns one fault per denied dataset of the signature, in the
// signature's order (a dataset read and written counts once); none when
// the signature touches no denied dataset.
//
// Family, stage and mandatory_action are left empty and the rule unset:
// the core fills them (semantic_faults, policy_engine, block) and names
// this validator in the rule.
func (v *Validator) Validate(_ context.Context, sig extension.Signature, _ extension.EnvironmentState) ([]extension.Fault, error) {
	var faults []extension.Fault
	seen := make(map[string]bool)
	for _, d := range sig.Datasets {
		name := normalize(d.Name)
		if _, denied := v.denied[name]; !denied || seen[name] {
			continue
		}
		seen[name] = true
		msg := fmt.Sprintf("dataset %s is on the legacy compliance deny list", d.Name)
		if v.reason != "" {
			msg += ": " + v.reason
		}
		faults = append(faults, extension.Fault{
			Code:     Code,
			Severity: extension.SeverityHigh,
			Message:  msg,
			Remediation: []string{fmt.Sprintf(
				"Remove %s from the intent, or ask the owner of the legacy compliance system to lift the embargo and take it off the deny list", d.Name)},
		})
	}
	return faults, nil
}

func normalize(name string) string { return strings.ToLower(strings.TrimSpace(name)) }
