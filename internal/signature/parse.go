package signature

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// Parse reads a structured State Signature (YAML, or JSON, which YAML
// reads too) strictly: an unknown field is an error, so a typo never
// silently drops a constraint. The CLI's `submit -f` and the API's
// SubmitIntent read signatures with it.
func Parse(data []byte) (*Signature, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var sig Signature
	if err := dec.Decode(&sig); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the signature is empty; see README for the fields")
		}
		return nil, fmt.Errorf("not a valid State Signature: %w", err)
	}
	return &sig, nil
}
