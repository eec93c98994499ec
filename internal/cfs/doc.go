// Package cfs holds the Context Fabric Standard (CFS 0.1) core schemas
// (generated into cfspb from proto/cfs/v0) and the canonical encoding that
// integrity hashes are computed on.
//
// CFS 0.1, Core Schemas: "All CFS primitives are defined with precise
// schemas. Implementations MUST validate against these schemas. Canonical
// encoding uses Protocol Buffers with deterministic serialization."
//
// CFS 0.1, Wire Formats: "Integrity hashes MUST be computed on the
// canonical protobuf encoding, regardless of transport format."
//
// Record.integrity: "Hash of deterministic protobuf encoding excluding this
// field." Receipt: "bytes prev_hash = 7; // Chain to previous receipt" and
// "bytes integrity = 8; // Hash for tamper detection".
//
// The canonical encoding is written down in docs/cfs-canonical-profile.md:
// Canonical writes it, DecodeCanonical accepts nothing else, Validate
// applies the schema rules (MUST-001), and testdata/cfs/vectors.json holds
// vectors for other implementations (docs/adr/0144).
//
// Deviations from the letter of the spec are recorded in docs/adr/0030
// (default values are not encoded: proto3 implicit presence) and 0031
// (enum zero values, CFA-defined placeholder types, "forever" in JSON).
package cfs
