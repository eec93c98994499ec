package replay

import (
	"context"
	"fmt"
)

// Loader reads the record of an intent (db.Store.ReplayRecord).
type Loader interface {
	ReplayRecord(ctx context.Context, intentID string) (Record, error)
}

// Verdict is I8's signal for one execution, for the Promotion Engine.
type Verdict struct {
	// Reproducible: replayed from its record, every stage gave what was
	// recorded, byte for byte.
	Reproducible bool `json:"reproducible"`
	// Reason says why not: the first difference with both values, or why
	// the intent cannot be replayed (an input that was never recorded).
	Reason string `json:"reason,omitempty"`
	// Through is the last stage compared; for an intent still deciding
	// (step 18, before its DECISION is recorded), the last one recorded.
	Through string `json:"through,omitempty"`
}

// Check replays an intent from its record and says whether it is
// reproducible (I8: "If the Audit Trail and the Signatures
// execution_context do not allow exact re-execution, the execution
// violates I8 and the skill is permanently blocked from promotion"). It
// needs no Temporal and runs no unit; the error is for a record that
// cannot be read (Postgres unreachable, an unknown intent).
func Check(ctx context.Context, l Loader, intentID string) (Verdict, error) {
	rec, err := l.ReplayRecord(ctx, intentID)
	if err != nil {
		return Verdict{}, err
	}
	res, err := Replay(ctx, rec)
	if err != nil {
		return Verdict{}, err
	}
	return VerdictOf(res), nil
}

// VerdictOf is a replay's I8 signal.
func VerdictOf(res Result) Verdict {
	v := Verdict{Reproducible: res.Identical, Through: res.Through}
	switch d := res.FirstDifference; {
	case res.Refused != "":
		v.Reason = "not replayable: " + res.Refused
	case d != nil:
		v.Reason = fmt.Sprintf("%s differs at %s: recorded %s, replayed %s", d.Stage, d.Field, d.Recorded, d.Replayed)
	}
	return v
}
