package db_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/policies"
)

// copyDir writes every file of fsys's root into a new temporary directory.
func copyDir(t *testing.T, fsys fs.FS) string {
	t.Helper()
	dir := t.TempDir()
	names, err := fs.Glob(fsys, "*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, names)
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), data, 0o600))
	}
	return dir
}

// editFile replaces old by new, once, in dir/name.
func editFile(t *testing.T, dir, name, old, new string) {
	t.Helper()
	p := filepath.Join(dir, name)
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Contains(t, string(data), old, "fixture")
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o600))
}

func countRows(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

func requireSameSource(t *testing.T, want, got *policy.Bundle) {
	t.Helper()
	require.Equal(t, want.Version, got.Version)
	ws, err := want.Source()
	require.NoError(t, err)
	gs, err := got.Source()
	require.NoError(t, err)
	require.Equal(t, ws, gs)
	require.Len(t, got.Rules, len(want.Rules))
	for i := range want.Rules {
		require.Equal(t, want.Rules[i].Name, got.Rules[i].Name)
		require.Equal(t, want.Rules[i].Severity, got.Rules[i].Severity, want.Rules[i].Name)
		require.Equal(t, want.Rules[i].File, got.Rules[i].File)
		require.Equal(t, want.Rules[i].Line, got.Rules[i].Line)
	}
	require.NoError(t, got.RunTests())
}

// TestRecordBundleAndCatalogAreIdempotent: the worker records what it
// loaded; recording it again (another worker, a restart) adds nothing, and
// both load back from Postgres alone.
func TestRecordBundleAndCatalogAreIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_ctxversions")
	store := db.New(d.Worker) // as the worker

	b, err := policy.Default()
	require.NoError(t, err)
	cat, err := catalog.Load(catalogfiles.FS)
	require.NoError(t, err)

	added, err := store.RecordBundle(ctx, b)
	require.NoError(t, err)
	require.True(t, added)
	added, err = store.RecordBundle(ctx, b)
	require.NoError(t, err)
	require.False(t, added, "the same version again is a no-op")
	again, err := policy.Default()
	require.NoError(t, err)
	require.NoError(t, store.RecordContextVersions(ctx, again, cat))
	require.NoError(t, store.RecordContextVersions(ctx, again, cat))
	require.Equal(t, 1, countRows(t, d.Pool, "policy_bundles"))
	require.Equal(t, 1, countRows(t, d.Pool, "catalog_snapshots"))

	loaded, err := store.BundleByVersion(ctx, b.Version)
	require.NoError(t, err)
	requireSameSource(t, b, loaded)
	gotCat, err := store.CatalogByVersion(ctx, cat.SnapshotVersion)
	require.NoError(t, err)
	require.Equal(t, cat.SnapshotVersion, gotCat.SnapshotVersion)
	require.Equal(t, cat.Datasets, gotCat.Datasets)

	bundles, err := store.BundleVersions(ctx)
	require.NoError(t, err)
	require.Len(t, bundles, 1)
	require.Equal(t, b.Version, bundles[0].Version)
	require.Equal(t, "cfa-default", bundles[0].Name)
	require.Equal(t, b.DeclaredVersion, bundles[0].DeclaredVersion)
	require.Equal(t, db.DefaultRoles.Worker, bundles[0].RecordedBy)
	require.False(t, bundles[0].RecordedAt.IsZero())
	cats, err := store.CatalogVersions(ctx)
	require.NoError(t, err)
	require.Len(t, cats, 1)
	require.Equal(t, cat.SnapshotVersion, cats[0].Version)
	require.Equal(t, db.DefaultRoles.Worker, cats[0].RecordedBy)

	_, err = store.BundleByVersion(ctx, "v9.9.9+000000000000")
	require.ErrorIs(t, err, db.ErrVersionNotRecorded)
	require.ErrorContains(t, err, "v9.9.9+000000000000")
	_, err = store.CatalogByVersion(ctx, "catalog_0000000000000000")
	require.ErrorIs(t, err, db.ErrVersionNotRecorded)
}

// TestReplayAfterTheFilesChangedUsesTheRecordedVersion is the replay of
// issue 13: the bundle and catalog files on disk change, the worker
// records the new versions beside the old ones, and an intent signed under
// the old versions still loads them, with their old content.
func TestReplayAfterTheFilesChangedUsesTheRecordedVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_ctxreplay")
	store := db.New(d.Worker)

	policyDir, catalogDir := copyDir(t, policies.FS), copyDir(t, catalogfiles.FS)
	oldBundle, err := policy.Load(os.DirFS(policyDir))
	require.NoError(t, err)
	oldCat, err := catalog.Load(os.DirFS(catalogDir))
	require.NoError(t, err)
	require.NoError(t, store.RecordContextVersions(ctx, oldBundle, oldCat))
	oldRule := oldBundle.Rules[0]

	// The files change: a rule's severity, a dataset's size.
	editFile(t, policyDir, oldRule.File, "severity: "+string(oldRule.Severity), "severity: low")
	editFile(t, catalogDir, "fiscal.yaml", "size: 4TB", "size: 5TB")
	newBundle, err := policy.Load(os.DirFS(policyDir))
	require.NoError(t, err)
	newCat, err := catalog.Load(os.DirFS(catalogDir))
	require.NoError(t, err)
	require.NotEqual(t, oldBundle.Version, newBundle.Version)
	require.NotEqual(t, oldCat.SnapshotVersion, newCat.SnapshotVersion)
	require.NoError(t, store.RecordContextVersions(ctx, newBundle, newCat))
	require.Equal(t, 2, countRows(t, d.Pool, "policy_bundles"), "the new version beside the old")
	require.Equal(t, 2, countRows(t, d.Pool, "catalog_snapshots"))

	// Replay under the old versions: the recorded content, not the files'.
	replayBundle, err := store.BundleByVersion(ctx, oldBundle.Version)
	require.NoError(t, err)
	requireSameSource(t, oldBundle, replayBundle)
	got, ok := replayBundle.Rule(oldRule.Name)
	require.True(t, ok)
	require.Equal(t, oldRule.Severity, got.Severity)
	if oldRule.Severity != "low" {
		now, _ := newBundle.Rule(oldRule.Name)
		require.NotEqual(t, now.Severity, got.Severity)
	}
	replayCat, err := store.CatalogByVersion(ctx, oldCat.SnapshotVersion)
	require.NoError(t, err)
	require.Equal(t, oldCat.Datasets, replayCat.Datasets)
	nfe, _ := replayCat.Get("nfe")
	require.Equal(t, int64(4)<<40, nfe.SizeBytes)

	// And the new versions load as the new files.
	current, err := store.BundleByVersion(ctx, newBundle.Version)
	require.NoError(t, err)
	requireSameSource(t, newBundle, current)

	bundles, err := store.BundleVersions(ctx)
	require.NoError(t, err)
	require.Len(t, bundles, 2)
	require.ElementsMatch(t, []string{oldBundle.Version, newBundle.Version}, []string{bundles[0].Version, bundles[1].Version})
}

// TestRecordBundleWithProviderRules: a custom_rule_provider's rules are in
// the record and load back with the bundle.
func TestRecordBundleWithProviderRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_ctxprovider")
	store := db.New(d.Worker)

	rules := `
policy_type: contract_enforcement
rules:
  - name: fiscal_embargo_nfe
    description: nfe is under a fiscal embargo.
    condition: '"nfe" in source_datasets'
    action: block
    severity: critical
    fault_code: REGULATORY_FISCAL_EMBARGO
tests:
  - name: reading nfe is refused
    facts: {source_datasets: [nfe]}
    fires: [fiscal_embargo_nfe]
`
	b, err := policy.LoadWith(policies.FS, policy.RuleSource{Name: "legacy_compliance", Version: "2026.03",
		FS: fstest.MapFS{"embargo.yaml": &fstest.MapFile{Data: []byte(rules)}}})
	require.NoError(t, err)
	added, err := store.RecordBundle(ctx, b)
	require.NoError(t, err)
	require.True(t, added)

	loaded, err := store.BundleByVersion(ctx, b.Version)
	require.NoError(t, err)
	requireSameSource(t, b, loaded)
	require.Equal(t, []string{"legacy_compliance@2026.03"}, loaded.Providers)
	r, ok := loaded.Rule("fiscal_embargo_nfe")
	require.True(t, ok)
	require.Equal(t, "custom_rule_provider legacy_compliance: embargo.yaml", r.File)
}

// TestContextVersionsAreInsertOnly: the worker can neither change nor
// remove a record, the owner's triggers refuse it to anyone, and no row can
// hold content its version does not name.
func TestContextVersionsAreInsertOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_ctxinsertonly")
	store := db.New(d.Worker)
	b, err := policy.Default()
	require.NoError(t, err)
	cat, err := catalog.Load(catalogfiles.FS)
	require.NoError(t, err)
	require.NoError(t, store.RecordContextVersions(ctx, b, cat))

	changes := map[string]string{
		"update bundle":   "UPDATE policy_bundles SET name = 'x'",
		"delete bundle":   "DELETE FROM policy_bundles",
		"truncate bundle": "TRUNCATE policy_bundles",
		"update catalog":  "UPDATE catalog_snapshots SET content = content",
		"delete catalog":  "DELETE FROM catalog_snapshots",
		"truncate cat":    "TRUNCATE catalog_snapshots",
	}
	// The worker holds SELECT and INSERT only.
	requireDenied(t, d.Worker, nil, "42501", changes)
	// Whoever holds more meets the triggers (raise_exception).
	requireDenied(t, d.Pool, nil, "P0001", changes)

	// Content the version does not name (check_violation), as the worker.
	requireDenied(t, d.Worker, nil, "23514", map[string]string{
		"bundle": `INSERT INTO policy_bundles (version, name, declared_version, content, source)
			VALUES ('v1.0.0+000000000000', 'x', 'v1.0.0', '\x7b7d', '{}')`,
		"catalog": `INSERT INTO catalog_snapshots (version, content) VALUES ('catalog_0000000000000000', '\x5b5d')`,
	})

	// The database checks the digits, not the declared version inside the
	// content: a row relabeled v2.0.0 goes in, and does not load.
	relabeled := "v2.0.0+" + strings.TrimPrefix(b.Version, b.DeclaredVersion+"+")
	_, err = d.Worker.Exec(ctx, `INSERT INTO policy_bundles (version, name, declared_version, content, source)
		SELECT $1, name, 'v2.0.0', content, source FROM policy_bundles WHERE version = $2`, relabeled, b.Version)
	require.NoError(t, err)
	_, err = store.BundleByVersion(ctx, relabeled)
	require.ErrorIs(t, err, policy.ErrInvalidBundle)
}

// TestRecordedVersionsAreVerifiedBothWays: content under a version it does
// not name is refused when recording (ErrVersionConflict, with both
// digests) and when loading. Only a superuser who disables the checks can
// make such a row: the test does, to see the store check again.
func TestRecordedVersionsAreVerifiedBothWays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_ctxverify")
	store := db.New(d.Worker)
	b, err := policy.Default()
	require.NoError(t, err)
	cat, err := catalog.Load(catalogfiles.FS)
	require.NoError(t, err)
	src, err := b.Source()
	require.NoError(t, err)

	for _, s := range []string{
		"ALTER TABLE policy_bundles DROP CONSTRAINT policy_bundles_version_names_content",
		"ALTER TABLE catalog_snapshots DROP CONSTRAINT catalog_snapshots_version_names_content",
	} {
		_, err := d.Pool.Exec(ctx, s)
		require.NoError(t, err, s)
	}
	other := []byte(`{"not":"the content"}`)
	sourceDoc, err := json.Marshal(map[string]any{"prefix": src.Prefix, "files": src.Files})
	require.NoError(t, err)
	_, err = d.Pool.Exec(ctx, `INSERT INTO policy_bundles (version, name, declared_version, content, source) VALUES ($1, $2, $3, $4, $5)`,
		b.Version, b.Name, b.DeclaredVersion, other, sourceDoc)
	require.NoError(t, err)
	_, err = d.Pool.Exec(ctx, `INSERT INTO catalog_snapshots (version, content) VALUES ($1, $2)`, cat.SnapshotVersion, []byte(`[]`))
	require.NoError(t, err)

	_, err = store.RecordBundle(ctx, b)
	require.ErrorIs(t, err, db.ErrVersionConflict)
	require.ErrorContains(t, err, b.Version)
	require.ErrorContains(t, err, b.ContentDigest(), "names the loaded content")
	sum := sha256.Sum256(other)
	require.ErrorContains(t, err, hex.EncodeToString(sum[:]), "names the recorded content")
	_, err = store.RecordCatalog(ctx, cat)
	require.ErrorIs(t, err, db.ErrVersionConflict)
	require.ErrorContains(t, err, cat.SnapshotVersion)

	_, err = store.BundleByVersion(ctx, b.Version)
	require.ErrorIs(t, err, policy.ErrInvalidBundle)
	_, err = store.CatalogByVersion(ctx, cat.SnapshotVersion)
	require.ErrorIs(t, err, catalog.ErrInvalid)

	// Files altered under a version (content intact): refused on loading.
	edited := map[string]string{}
	for k, v := range src.Files {
		edited[k] = v
	}
	edited["finops_guard.yaml"] = strings.Replace(edited["finops_guard.yaml"], "severity: high", "severity: low", 1)
	require.NotEqual(t, src.Files["finops_guard.yaml"], edited["finops_guard.yaml"], "fixture")
	alteredDoc, err := json.Marshal(map[string]any{"prefix": src.Prefix, "files": edited})
	require.NoError(t, err)
	_, err = d.Pool.Exec(ctx, `ALTER TABLE policy_bundles DISABLE TRIGGER policy_bundles_insert_only`)
	require.NoError(t, err)
	_, err = d.Pool.Exec(ctx, `UPDATE policy_bundles SET content = $2, source = $3 WHERE version = $1`, b.Version, src.Content, alteredDoc)
	require.NoError(t, err)
	_, err = store.BundleByVersion(ctx, b.Version)
	require.ErrorIs(t, err, policy.ErrInvalidBundle)
	require.ErrorContains(t, err, "the files were altered")
}
