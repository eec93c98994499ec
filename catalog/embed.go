// Package catalogfiles ships the data catalog's YAML files inside the binary,
// so a worker and a test load the same catalog_snapshot_version.
package catalogfiles

import "embed"

// FS holds every *.yaml file of this directory; pass it to catalog.Load.
//
//go:embed *.yaml
var FS embed.FS
