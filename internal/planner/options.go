package planner

import (
	"fmt"
	"time"
)

// DefaultBroadcastMaxBytes is the largest side broadcast by default: 1 GiB,
// so the whitepaper's 500MB clientes is broadcast and a 4TB nfe never is.
const DefaultBroadcastMaxBytes int64 = 1 << 30

// Options are the execution context the planner cannot read from the
// signature. The zero value plans a batch with the default strategy.
type Options struct {
	// ExecutionMode is batch (default) or micro_batch.
	ExecutionMode ExecutionMode
	// CrossDatasetAtomic asks for one atomic unit across datasets.
	CrossDatasetAtomic bool
	// Composite marks the plan as one branch of a composite intent (5.4).
	Composite bool
	// AsOf (YYYY-MM-DD) resolves a relative temporal filter (last_days). The
	// planner reads no clock: the workflow passes the date of workflow.Now.
	AsOf string
	// Strategy forces the load's idempotence strategy; empty chooses merge
	// when the signature has a merge key, else partition overwrite.
	// AppendWithoutDedup is refused.
	Strategy Idempotence
	// BroadcastMaxBytes is the largest join side broadcast; 0 means
	// DefaultBroadcastMaxBytes.
	BroadcastMaxBytes int64
	// RowLimit is the most rows a read returns; 0 means DefaultRowLimit
	// (docs/adr/0132). Plans that write ignore it.
	RowLimit int
	// Masks says how a read returns each raw PII column, by
	// "dataset.column", from the policy bundle's privacy wall; a column
	// without one is hashed (docs/adr/0133).
	Masks map[string]Mask
}

func (o Options) normalize() (Options, error) {
	switch o.ExecutionMode {
	case "":
		o.ExecutionMode = ModeBatch
	case ModeBatch, ModeMicroBatch:
	default:
		return o, fmt.Errorf("%w: execution_mode %q: use batch or micro_batch", ErrInvalidOptions, o.ExecutionMode)
	}
	switch o.Strategy {
	case "", MergeWithDeterministicKey, PartitionOverwriteSafe:
	case AppendWithoutDedup:
		return o, &ConstraintError{Constraint: ConstraintIdempotency, sentinel: ErrAppendForbidden,
			Detail:      "strategy append_without_dedup duplicates rows on retry",
			Remediation: "use merge_with_deterministic_key or partition_overwrite_safe"}
	default:
		return o, fmt.Errorf("%w: strategy %q: use %s or %s", ErrInvalidOptions, o.Strategy, MergeWithDeterministicKey, PartitionOverwriteSafe)
	}
	if o.BroadcastMaxBytes < 0 {
		return o, fmt.Errorf("%w: broadcast_max_bytes %d is negative: use 0 for the default", ErrInvalidOptions, o.BroadcastMaxBytes)
	}
	if o.BroadcastMaxBytes == 0 {
		o.BroadcastMaxBytes = DefaultBroadcastMaxBytes
	}
	if o.AsOf != "" {
		if _, err := ParseDate(o.AsOf); err != nil {
			return o, fmt.Errorf("%w: as_of: %w", ErrInvalidOptions, err)
		}
	}
	return o, nil
}

// SelectConsistencyUnit applies the 5.5 selection rules. The explicit flags
// outrank the execution mode (docs/adr/0058): cross_dataset_atomic, then
// composite_intent, then micro_batch, then batch. A batch whose target is
// not partitioned has no partition to commit, so its unit is the dataset.
func SelectConsistencyUnit(o Options, targetPartitioned bool) (ConsistencyUnit, string, error) {
	switch {
	case o.CrossDatasetAtomic:
		return UnitDataset, "cross_dataset_atomic == true", nil
	case o.Composite:
		return UnitDagBranch, "composite_intent == true", nil
	case o.ExecutionMode == ModeMicroBatch:
		if !targetPartitioned {
			return "", "", fmt.Errorf("%w: micro_batch needs a time_window on the target's partition key, and the target has none: run it as batch", ErrInvalidOptions)
		}
		return UnitTimeWindow, "execution_mode == micro_batch", nil
	case o.ExecutionMode == ModeBatch || o.ExecutionMode == "":
		if !targetPartitioned {
			return UnitDataset, "execution_mode == batch; target not partitioned", nil
		}
		return UnitPartition, "execution_mode == batch", nil
	}
	return "", "", fmt.Errorf("%w: execution_mode %q: use batch or micro_batch", ErrInvalidOptions, o.ExecutionMode)
}

const dateLayout = "2006-01-02"

// ParseDate accepts only a real ISO calendar date, YYYY-MM-DD.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil || t.Format(dateLayout) != s {
		return time.Time{}, fmt.Errorf("date %q is not a calendar date: write it as YYYY-MM-DD", s)
	}
	return t, nil
}
