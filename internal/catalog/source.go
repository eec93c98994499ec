package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Source returns the canonical content c.SnapshotVersion names: the JSON of
// the datasets in name order, over which the version's SHA-256 is taken.
// FromSource(c.SnapshotVersion, content) gives the catalog back, so the
// content is what a store keeps to load any catalog_snapshot_version again
// after the files changed (ADR 0122). It refuses a catalog whose version
// does not name its datasets (one built by hand).
func (c *Catalog) Source() ([]byte, error) {
	data, err := json.Marshal(c.Datasets)
	if err != nil {
		return nil, fmt.Errorf("encode data catalog %s: %w", c.SnapshotVersion, err)
	}
	if v := ContentVersion(data); v != c.SnapshotVersion {
		return nil, fmt.Errorf("data catalog %q: its datasets hash to %s: it was not loaded by Load, so it has no content to record: %w", c.SnapshotVersion, v, ErrInvalid)
	}
	return data, nil
}

// FromSource rebuilds the catalog recorded as version from its canonical
// content (Catalog.Source), without reading any file. It refuses content
// the version does not name, content not in canonical form, and datasets
// Load would refuse; every error wraps ErrInvalid.
func FromSource(version string, content []byte) (*Catalog, error) {
	if v := ContentVersion(content); v != version {
		return nil, fmt.Errorf("recorded data catalog %s: its content hashes to %s, not to the version: the record was altered: %w", version, v, ErrInvalid)
	}
	label := "recorded " + version
	dec := json.NewDecoder(bytes.NewReader(content))
	dec.DisallowUnknownFields()
	var all []Dataset
	if err := dec.Decode(&all); err != nil {
		return nil, fmt.Errorf("%s: decode: %w: %w", label, err, ErrInvalid)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: content after the datasets: %w", label, ErrInvalid)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%s: no datasets: %w", label, ErrInvalid)
	}
	var errs []error
	fileOf := map[string]string{}
	for i := range all {
		d := &all[i]
		errs = append(errs, validateDataset(label, d)...)
		if i > 0 && strings.Compare(all[i-1].Name, d.Name) >= 0 {
			errs = append(errs, &FieldError{File: label, Dataset: d.Name, Field: "name", Problem: "out of name order or declared twice", Fix: "record the catalog Load made"})
		}
		fileOf[d.Name] = label
	}
	errs = append(errs, validateCrossRefs(all, fileOf)...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("load data catalog: %w", errors.Join(errs...))
	}
	// validateDataset derived size_bytes again: the content must be what
	// Load would have made of these datasets, byte for byte.
	again, err := json.Marshal(all)
	if err != nil {
		return nil, fmt.Errorf("%s: encode: %w", label, err)
	}
	if !bytes.Equal(again, content) {
		return nil, fmt.Errorf("%s: the content is not in the canonical form this build writes (sha256 %s, rewritten %s): %w",
			label, digest(content), digest(again), ErrInvalid)
	}
	return &Catalog{SnapshotVersion: version, Datasets: all, terms: buildIndex(all)}, nil
}

// ContentVersion is the catalog_snapshot_version that names content:
// "catalog_" and the first 16 hex digits of its SHA-256.
func ContentVersion(content []byte) string {
	return "catalog_" + digest(content)[:16]
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
