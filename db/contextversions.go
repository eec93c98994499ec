package db

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/policy"
)

// Every policy bundle and data catalog a worker loaded is kept here under
// its version, which names its content (issue 13 item 4, ADR 0122): the
// policy_bundle_version and catalog_snapshot_version of any
// execution_context load again after the files on disk changed.

var (
	// ErrVersionNotRecorded: no policy bundle or catalog is recorded under
	// that version.
	ErrVersionNotRecorded = errors.New("version not recorded")
	// ErrVersionConflict: the version is recorded with other content. The
	// version names the content, so this is a hash collision on the
	// version's digits or a build that hashes differently, never a change
	// to record.
	ErrVersionConflict = errors.New("version recorded with different content")
)

// RecordedBundle is one row of policy_bundles, without its content.
type RecordedBundle struct {
	Version         string    `json:"policy_bundle_version"`
	Name            string    `json:"name"`
	DeclaredVersion string    `json:"declared_version"`
	RecordedAt      time.Time `json:"recorded_at"`
	// RecordedBy is the database role that recorded it (the worker's).
	RecordedBy string `json:"recorded_by"`
}

// RecordedCatalog is one row of catalog_snapshots, without its content.
type RecordedCatalog struct {
	Version    string    `json:"catalog_snapshot_version"`
	RecordedAt time.Time `json:"recorded_at"`
	RecordedBy string    `json:"recorded_by"`
}

// bundleSource is policy_bundles.source: a policy.Source without the
// version and the content, which have columns of their own.
type bundleSource struct {
	Prefix    string                  `json:"prefix,omitempty"`
	Files     map[string]string       `json:"files"`
	Providers []policy.ProviderSource `json:"providers,omitempty"`
}

func (s bundleSource) with(version string, content []byte) policy.Source {
	return policy.Source{Version: version, Content: content, Prefix: s.Prefix, Files: s.Files, Providers: s.Providers}
}

// RecordContextVersions records the bundle and the catalog a worker loaded
// (RecordBundle, RecordCatalog), before it takes an intent.
func (s *Store) RecordContextVersions(ctx context.Context, b *policy.Bundle, c *catalog.Catalog) error {
	if _, err := s.RecordBundle(ctx, b); err != nil {
		return err
	}
	_, err := s.RecordCatalog(ctx, c)
	return err
}

// RecordBundle keeps b under its policy_bundle_version: its canonical
// content and the files it was loaded from. It first checks that what it
// writes loads again as b (policy.FromSource). Recording a version again is
// a no-op (false): the first record's files are kept, which differ from
// b's at most in what the version does not cover (comments, layout, test
// tables, line numbers). The same version with other content is
// ErrVersionConflict, naming both contents' digests.
func (s *Store) RecordBundle(ctx context.Context, b *policy.Bundle) (bool, error) {
	src, err := b.Source()
	if err != nil {
		return false, fmt.Errorf("record policy bundle %s: %w", b.Version, err)
	}
	doc, err := json.Marshal(bundleSource{Prefix: src.Prefix, Files: src.Files, Providers: src.Providers})
	if err != nil {
		return false, fmt.Errorf("record policy bundle %s: encode its source: %w", src.Version, err)
	}
	var stored bundleSource
	if err := json.Unmarshal(doc, &stored); err != nil {
		return false, fmt.Errorf("record policy bundle %s: decode its source: %w", src.Version, err)
	}
	if _, err := policy.FromSource(stored.with(src.Version, src.Content)); err != nil {
		return false, fmt.Errorf("record policy bundle %s: what would be stored does not load again: %w", src.Version, err)
	}
	n, err := s.q.InsertPolicyBundle(ctx, dbsqlc.InsertPolicyBundleParams{
		Version: src.Version, Name: b.Name, DeclaredVersion: b.DeclaredVersion, Content: src.Content, Source: doc,
	})
	if err != nil {
		return false, fmt.Errorf("record policy bundle %s in %s: %w", src.Version, describe(s.pool), err)
	}
	if n == 1 {
		return true, nil
	}
	row, err := s.q.GetPolicyBundle(ctx, src.Version)
	if err != nil {
		return false, fmt.Errorf("read recorded policy bundle %s from %s: %w", src.Version, describe(s.pool), err)
	}
	if !bytes.Equal(row.Content, src.Content) {
		return false, fmt.Errorf("%w: policy bundle %s is recorded (at %s by %s) with content sha256 %s; the loaded bundle's content is sha256 %s",
			ErrVersionConflict, src.Version, row.RecordedAt.UTC().Format(time.RFC3339), row.RecordedBy, digest(row.Content), digest(src.Content))
	}
	return false, nil
}

// RecordCatalog keeps c's canonical content under its
// catalog_snapshot_version, after checking it loads again as c
// (catalog.FromSource). Recording a version again is a no-op (false); the
// same version with other content is ErrVersionConflict.
func (s *Store) RecordCatalog(ctx context.Context, c *catalog.Catalog) (bool, error) {
	content, err := c.Source()
	if err != nil {
		return false, fmt.Errorf("record data catalog %s: %w", c.SnapshotVersion, err)
	}
	if _, err := catalog.FromSource(c.SnapshotVersion, content); err != nil {
		return false, fmt.Errorf("record data catalog %s: its content does not load again: %w", c.SnapshotVersion, err)
	}
	n, err := s.q.InsertCatalogSnapshot(ctx, dbsqlc.InsertCatalogSnapshotParams{Version: c.SnapshotVersion, Content: content})
	if err != nil {
		return false, fmt.Errorf("record data catalog %s in %s: %w", c.SnapshotVersion, describe(s.pool), err)
	}
	if n == 1 {
		return true, nil
	}
	row, err := s.q.GetCatalogSnapshot(ctx, c.SnapshotVersion)
	if err != nil {
		return false, fmt.Errorf("read recorded data catalog %s from %s: %w", c.SnapshotVersion, describe(s.pool), err)
	}
	if !bytes.Equal(row.Content, content) {
		return false, fmt.Errorf("%w: data catalog %s is recorded (at %s by %s) with content sha256 %s; the loaded catalog's content is sha256 %s",
			ErrVersionConflict, c.SnapshotVersion, row.RecordedAt.UTC().Format(time.RFC3339), row.RecordedBy, digest(row.Content), digest(content))
	}
	return false, nil
}

// BundleByVersion loads the policy bundle recorded as version, from
// Postgres only: the files on disk play no part. A version never recorded
// is ErrVersionNotRecorded; a record that does not load as its version is
// refused (policy.ErrInvalidBundle).
func (s *Store) BundleByVersion(ctx context.Context, version string) (*policy.Bundle, error) {
	row, err := s.q.GetPolicyBundle(ctx, version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: policy bundle %q is not recorded in %s (a worker records the bundle it loads when it starts; `cfa policy versions` lists them)",
			ErrVersionNotRecorded, version, describe(s.pool))
	}
	if err != nil {
		return nil, fmt.Errorf("read policy bundle %s from %s: %w", version, describe(s.pool), err)
	}
	var doc bundleSource
	if err := json.Unmarshal(row.Source, &doc); err != nil {
		return nil, fmt.Errorf("recorded policy bundle %s: decode its source: %w", version, err)
	}
	return policy.FromSource(doc.with(row.Version, row.Content))
}

// CatalogByVersion loads the data catalog recorded as version, from
// Postgres only. A version never recorded is ErrVersionNotRecorded; a
// record that does not load as its version is refused (catalog.ErrInvalid).
func (s *Store) CatalogByVersion(ctx context.Context, version string) (*catalog.Catalog, error) {
	row, err := s.q.GetCatalogSnapshot(ctx, version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: data catalog %q is not recorded in %s (a worker records the catalog it loads when it starts; `cfa catalog versions` lists them)",
			ErrVersionNotRecorded, version, describe(s.pool))
	}
	if err != nil {
		return nil, fmt.Errorf("read data catalog %s from %s: %w", version, describe(s.pool), err)
	}
	return catalog.FromSource(row.Version, row.Content)
}

// BundleVersions lists the recorded policy bundles, oldest first.
func (s *Store) BundleVersions(ctx context.Context) ([]RecordedBundle, error) {
	rows, err := s.q.ListPolicyBundles(ctx)
	if err != nil {
		return nil, fmt.Errorf("list policy bundles in %s: %w", describe(s.pool), err)
	}
	out := make([]RecordedBundle, len(rows))
	for i, r := range rows {
		out[i] = RecordedBundle{Version: r.Version, Name: r.Name, DeclaredVersion: r.DeclaredVersion, RecordedAt: r.RecordedAt, RecordedBy: r.RecordedBy}
	}
	return out, nil
}

// CatalogVersions lists the recorded data catalogs, oldest first.
func (s *Store) CatalogVersions(ctx context.Context) ([]RecordedCatalog, error) {
	rows, err := s.q.ListCatalogSnapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("list data catalogs in %s: %w", describe(s.pool), err)
	}
	out := make([]RecordedCatalog, len(rows))
	for i, r := range rows {
		out[i] = RecordedCatalog{Version: r.Version, RecordedAt: r.RecordedAt, RecordedBy: r.RecordedBy}
	}
	return out, nil
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
