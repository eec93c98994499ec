package replay

// Result is one intent's replay.
type Result struct {
	IntentID string `json:"intent_id"`
	// Identical: every stage replayed gave what was recorded, byte for
	// byte, and the decision is the same.
	Identical bool `json:"identical"`
	// Refused says why the intent could not be replayed at all (a version
	// its execution_context names was never recorded, a trail that is not
	// an intent's); Identical is then false.
	Refused string `json:"refused,omitempty"`
	// Through is the last stage compared: "decision_engine" once the
	// decision was, or the stage an intent still running reached.
	Through string `json:"through,omitempty"`
	Inputs  Inputs `json:"inputs"`
	// Stages are the stages compared, in flow order, up to the first
	// difference.
	Stages          []Stage     `json:"stages"`
	FirstDifference *Difference `json:"first_difference,omitempty"`
	// Answers are what the replay took from the record instead of
	// computing it: humans, extension points, the environment.
	Answers []Answer `json:"answers"`
	// Execution is the re-execution of the units (--execute).
	Execution *Execution `json:"execution,omitempty"`
}

// Inputs are I8's inputs of the intent as the replay used them.
type Inputs struct {
	UserIntent             string `json:"user_intent,omitempty"`
	Signature              bool   `json:"structured_signature,omitempty"`
	RegistryVersionID      string `json:"registry_version_id"`
	PolicyBundleVersion    string `json:"policy_bundle_version"`
	CatalogSnapshotVersion string `json:"catalog_snapshot_version"`
	AsOf                   string `json:"as_of,omitempty"`
}

// Stage is one stage compared. Recorded and Replayed are its result in
// short (a hash, a state); Cycle counts the signature cycles (a stale
// environment at step 12 signs again).
type Stage struct {
	Stage     string `json:"stage"`
	Cycle     int    `json:"cycle"`
	Identical bool   `json:"identical"`
	Recorded  string `json:"recorded"`
	Replayed  string `json:"replayed"`
}

// Difference is where the replay parted from the record: the stage, the
// field (a JSON path into the stage's record), and both values.
type Difference struct {
	Stage    string `json:"stage"`
	Cycle    int    `json:"cycle"`
	Field    string `json:"field"`
	Recorded string `json:"recorded"`
	Replayed string `json:"replayed"`
}

// Answer is one answer the replay took from the record.
type Answer struct {
	Stage  string `json:"stage"`
	Answer string `json:"answer"`
}
