package replay

import (
	"fmt"
	"strings"
)

// Fingerprint is a set of rows in short: how many, and the SHA-256 of
// their canonical encodings in sorted order (docs/adr/0128).
type Fingerprint struct {
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
}

func (f Fingerprint) String() string {
	return fmt.Sprintf("%d rows, sha256 %s", f.Rows, f.SHA256)
}

// InputFingerprint is one source a unit read, within its partition.
type InputFingerprint struct {
	Dataset   string `json:"dataset"`
	Partition string `json:"partition,omitempty"`
	Fingerprint
}

// UnitFingerprint is what the last attempt of one unit read and staged,
// as recorded at execution time.
type UnitFingerprint struct {
	Key           string             `json:"key"`
	Attempt       int                `json:"attempt"`
	SignatureHash string             `json:"intent_signature_hash"`
	CodeHash      string             `json:"code_hash"`
	Partition     string             `json:"partition,omitempty"`
	Output        Fingerprint        `json:"output"`
	Inputs        []InputFingerprint `json:"inputs"`
}

// Rerun is one unit run again in the sandbox: what it read and staged.
type Rerun struct {
	Key    string             `json:"key"`
	Output Fingerprint        `json:"output"`
	Inputs []InputFingerprint `json:"inputs"`
}

// Execution is the re-execution of an intent's units (`cfa replay
// --execute`).
type Execution struct {
	// Identical: every unit was run again on the sources it read then and
	// staged the same rows.
	Identical bool `json:"identical"`
	// Refused says why no unit, or not every unit, could be compared.
	Refused         string      `json:"refused,omitempty"`
	Units           []UnitRerun `json:"units"`
	FirstDifference *Difference `json:"first_difference,omitempty"`
}

// Outcomes of one unit's re-execution.
const (
	UnitIdentical     = "identical"
	UnitDifferent     = "different"
	UnitSourceChanged = "source_changed"
)

// UnitRerun compares one unit's re-execution with its record.
type UnitRerun struct {
	Key      string       `json:"key"`
	Attempt  int          `json:"attempt"`
	Outcome  string       `json:"outcome"`
	Recorded Fingerprint  `json:"recorded"`
	Replayed *Fingerprint `json:"replayed,omitempty"`
	// Reason names the source that changed, with both fingerprints.
	Reason string `json:"reason,omitempty"`
}

// CompareUnits compares each recorded unit with its re-execution. A unit
// whose sources no longer hold what it read is not compared: Postgres
// cannot read them as of then, and its output would differ for a reason
// that is not the code (docs/adr/0128).
func CompareUnits(recorded []UnitFingerprint, reruns []Rerun) Execution {
	out := Execution{Units: []UnitRerun{}}
	if len(recorded) == 0 {
		out.Refused = "no unit fingerprint is recorded for this intent: it ran no unit, or ran before fingerprints were recorded (migration 0019)"
		return out
	}
	byKey := map[string]Rerun{}
	for _, r := range reruns {
		byKey[r.Key] = r
	}
	var changed []string
	for _, rec := range recorded {
		u := UnitRerun{Key: rec.Key, Attempt: rec.Attempt, Recorded: rec.Output}
		r, ok := byKey[rec.Key]
		if !ok {
			u.Outcome, u.Reason = UnitSourceChanged, "the unit was not run again"
			changed = append(changed, rec.Key)
			out.Units = append(out.Units, u)
			continue
		}
		if why := sourceChange(rec.Inputs, r.Inputs); why != "" {
			u.Outcome, u.Reason = UnitSourceChanged, why
			changed = append(changed, rec.Key)
			out.Units = append(out.Units, u)
			continue
		}
		got := r.Output
		u.Replayed = &got
		u.Outcome = UnitIdentical
		if got != rec.Output {
			u.Outcome = UnitDifferent
			if out.FirstDifference == nil {
				out.FirstDifference = &Difference{Stage: "execution", Field: "unit " + rec.Key + ".output", Recorded: rec.Output.String(), Replayed: got.String()}
			}
		}
		out.Units = append(out.Units, u)
	}
	if len(changed) > 0 {
		out.Refused = fmt.Sprintf("%d of %d units were not compared: a source they read has changed since the execution (%s); Postgres cannot read it as of then",
			len(changed), len(recorded), strings.Join(changed, ", "))
	}
	out.Identical = out.FirstDifference == nil && len(changed) == 0
	return out
}

// sourceChange names the first source whose fingerprint differs, "" when
// they all match.
func sourceChange(recorded, now []InputFingerprint) string {
	for _, in := range recorded {
		var found *InputFingerprint
		for i := range now {
			if now[i].Dataset == in.Dataset && now[i].Partition == in.Partition {
				found = &now[i]
				break
			}
		}
		where := in.Dataset
		if in.Partition != "" {
			where += " partition " + in.Partition
		}
		switch {
		case found == nil:
			return "source " + where + " was not read again"
		case found.Fingerprint != in.Fingerprint:
			return fmt.Sprintf("source %s changed since the execution: recorded %s, now %s", where, in.Fingerprint, found.Fingerprint)
		}
	}
	return ""
}
