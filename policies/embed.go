// Package policies embeds the shipped policy bundle (whitepaper 5.3):
// bundle.yaml lists the rule files, one per policy type. Load it with
// policy.Default or policy.Load(policies.FS).
package policies

import "embed"

// FS holds bundle.yaml and the rule files at its root.
//
//go:embed *.yaml
var FS embed.FS
