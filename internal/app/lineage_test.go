package app_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/lineage/emitter"
)

// trailStore is a custom audit backend that can read a trail.
type trailStore struct{ appendOnly }

func (trailStore) AuditByIntent(context.Context, string) ([]audit.Receipt, error) { return nil, nil }

// appendOnly is a custom audit backend that cannot.
type appendOnly struct{}

func (appendOnly) Append(context.Context, ...audit.Event) ([]audit.Receipt, error) { return nil, nil }

func TestLineageFromEnv(t *testing.T) {
	t.Setenv("CFA_OPENLINEAGE_URL", "http://marquez:5000/api/v1/lineage")
	t.Setenv("CFA_OPENLINEAGE_API_KEY", "k")
	t.Setenv("CFA_OPENLINEAGE_FILE", "")
	t.Setenv("CFA_OPENLINEAGE_NAMESPACE", "")
	t.Setenv("CFA_OPENLINEAGE_DATASET_NAMESPACE", "postgres://dw:5432")
	lc := app.LineageFromEnv()
	require.Equal(t, app.LineageConfig{URL: "http://marquez:5000/api/v1/lineage", APIKey: "k", Namespace: "cfa", DatasetNamespace: "postgres://dw:5432"}, lc)
	require.True(t, lc.Enabled())
	require.False(t, app.LineageConfig{Namespace: "cfa"}.Enabled())
}

func TestWithLineage(t *testing.T) {
	t.Parallel()
	cat, err := app.LoadCatalog("")
	require.NoError(t, err)
	log := zap.NewNop()
	dbURL := "postgres://cfa_worker:pw@db.internal:6543/cfa?sslmode=disable"

	off := extension.Points{Audit: appendOnly{}}
	got, closeFn, err := app.WithLineage(off, app.LineageConfig{}, dbURL, cat, nil, log)
	require.NoError(t, err)
	require.Equal(t, appendOnly{}, got.Audit, "off: nothing wrapped")
	closeFn()

	_, _, err = app.WithLineage(off, app.LineageConfig{URL: "http://x/y", File: "/tmp/z"}, dbURL, cat, nil, log)
	require.ErrorContains(t, err, "set one")

	_, _, err = app.WithLineage(off, app.LineageConfig{URL: "marquez:5000/secret-path"}, dbURL, cat, nil, log)
	require.ErrorContains(t, err, "not an http(s) URL")
	require.NotContains(t, err.Error(), "secret-path")

	file := filepath.Join(t.TempDir(), "lineage.jsonl")
	_, _, err = app.WithLineage(off, app.LineageConfig{File: file}, dbURL, cat, nil, log)
	require.ErrorContains(t, err, "cannot (AuditByIntent)", "a backend that cannot read a trail is refused at start")

	var wrapped extension.AuditStorage
	custom := extension.Points{Audit: trailStore{}, WrapAudit: func(next extension.AuditStorage) extension.AuditStorage {
		wrapped = next
		return next
	}}
	got, closeFn, err = app.WithLineage(custom, app.LineageConfig{File: file, Namespace: "ns"}, dbURL, cat, nil, log)
	require.NoError(t, err)
	defer closeFn()
	require.Equal(t, trailStore{}, wrapped, "WrapAudit wraps the storage in force, inside the emitter")
	require.Nil(t, got.WrapAudit, "applied once")
	_, ok := got.Audit.(*emitter.Storage)
	require.True(t, ok, "the emitter is the outermost audit storage")
	require.Same(t, got.Audit, got.WithDefaults(nil).Audit, "WithDefaults keeps it")
}
