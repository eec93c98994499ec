package events

import "github.com/contextualflux/cfa/internal/audit"

// CFSProposed is a stored proposal of the CFS write protocol
// (CFS_PROPOSED): what it would change and why.
type CFSProposed struct {
	ProposalID string   `json:"proposal_id"`
	Intent     string   `json:"intent"`
	Citations  []string `json:"citations,omitempty"`
	Affected   []string `json:"affected"`
	Changes    int      `json:"changes"`
	// DiffSHA256 is the hex SHA-256 of the diff's canonical bytes.
	DiffSHA256 string `json:"diff_sha256"`
}

// CFSReviewed is a review of a proposal (CFS_PROPOSAL_REVIEWED): its
// verdict, and why a review was refused.
type CFSReviewed struct {
	ProposalID string `json:"proposal_id"`
	Verdict    string `json:"verdict"` // approve or reject
	Comment    string `json:"comment,omitempty"`
	// AllowedBy says what let the reviewer approve: "bundle approvers" or
	// "cfs policy <id>"; Refused why the review was not taken.
	AllowedBy string `json:"allowed_by,omitempty"`
	Refused   string `json:"refused,omitempty"`
}

// CFSApplied is a proposal committed to the plane (CFS_PROPOSAL_APPLIED).
type CFSApplied struct {
	ProposalID  string `json:"proposal_id"`
	CommitID    string `json:"commit_id"`
	Approver    string `json:"approver"`
	ApprovalRef string `json:"approval_ref"`
}

// CFSDefinitionPut is a stored version of a CFS policy or view
// (CFS_POLICY_PUT, CFS_VIEW_PUT).
type CFSDefinitionPut struct {
	Kind    string `json:"kind"` // policy or view
	ID      string `json:"id"`
	Version int32  `json:"version"`
	Retired bool   `json:"retired,omitempty"`
	// SHA256 is the hex SHA-256 of the definition's canonical bytes.
	SHA256 string `json:"sha256"`
}

func (CFSProposed) EventType() string { return audit.EventCFSProposed }
func (CFSReviewed) EventType() string { return audit.EventCFSReviewed }
func (CFSApplied) EventType() string  { return audit.EventCFSApplied }

// EventType is CFS_POLICY_PUT or CFS_VIEW_PUT, by Kind.
func (p CFSDefinitionPut) EventType() string {
	if p.Kind == "view" {
		return audit.EventCFSViewPut
	}
	return audit.EventCFSPolicyPut
}
