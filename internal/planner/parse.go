package planner

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ParsePlan reads an execution plan as `cfa plan ID -o json` prints it,
// strictly (an unknown field is an error): a supplied plan (ADR 0075) from
// `submit --plan` or the API.
func ParsePlan(data []byte) (*ExecutionPlan, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p ExecutionPlan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not an execution plan (print one with `cfa plan ID -o json`): %w", err)
	}
	return &p, nil
}
