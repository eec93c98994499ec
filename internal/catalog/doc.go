// Whitepaper 5.1 Intent Normalizer, component input:
//
//	intent_normalizer:
//	  inputs:
//	    - user_intent
//	    - context_registry.environment_state
//	    - data_catalog # metadata and classifications
//
// and 5.9, pre-execution revalidation:
//
//	checks:
//	  - catalog_snapshot_version # has the catalog not changed since the Signature?
//
// Load reads the catalog's YAML files, validates them and derives
// catalog_snapshot_version from the content, so any edit is a new version
// (docs/adr/0010). Lookup resolves a user's term to datasets by name, alias
// (English and Portuguese) or a close typo (docs/adr/0011).
package catalog
