// Package access evaluates CFS Policies and Views (CFS 0.1 Core Schemas
// Policy and View; conformance requirement MUST-006).
//
// CFS 0.1, Policy: "int32 priority = 6; // Higher = evaluated first" and
// "Interval valid = 7; // When policy applies". View: "Query base_query =
// 2; // Records/links to include", "FieldMask field_mask = 3; // Which
// properties are visible", "repeated string policy_refs = 4; // Governing
// policies".
//
// MUST-006 Policy Enforcement: "Views MUST respect policy filters. Denied
// access MUST NOT leak data through error messages or timing."
//
// The rules (docs/adr/0149): only policies whose valid interval holds at the
// evaluation time take part; the highest priority among the matching
// policies decides; at that priority a DENY wins over an ALLOW; no matching
// policy is a deny. An unknown condition attribute or operator, an empty
// matcher or a dangling policy reference is a load error, never a silent
// allow. The package is pure: no SQL, no clock (the caller gives the time).
package access
