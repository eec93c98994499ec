package catalog_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
)

func TestSourceRoundTripsTheShippedCatalog(t *testing.T) {
	t.Parallel()
	c := loadShipped(t)
	content, err := c.Source()
	require.NoError(t, err)
	require.True(t, json.Valid(content))

	again, err := catalog.FromSource(c.SnapshotVersion, content)
	require.NoError(t, err)
	require.Equal(t, c.SnapshotVersion, again.SnapshotVersion)
	require.Equal(t, c.Datasets, again.Datasets)
	// The index is rebuilt: lookups by alias and with a typo answer alike.
	for _, term := range []string{"nfe", "notas fiscais", "clientes", "clientez", "faturamento por uf"} {
		want, wantErr := c.Lookup(term)
		got, gotErr := again.Lookup(term)
		require.Equal(t, want, got, term)
		require.Equal(t, wantErr, gotErr, term)
	}
	back, err := again.Source()
	require.NoError(t, err)
	require.Equal(t, content, back)
}

func TestFromSourceRefusesWhatTheVersionDoesNotName(t *testing.T) {
	t.Parallel()
	c := loadShipped(t)
	content, err := c.Source()
	require.NoError(t, err)

	// Content whose hash is right but which Load would not have made.
	rehash := func(mutate func([]map[string]any)) (string, []byte) {
		var ds []map[string]any
		require.NoError(t, json.Unmarshal(content, &ds))
		mutate(ds)
		data, err := json.Marshal(ds)
		require.NoError(t, err)
		return catalog.ContentVersion(data), data
	}
	type tc struct {
		version string
		content []byte
	}
	cases := map[string]tc{
		"altered content":    {c.SnapshotVersion, []byte(strings.Replace(string(content), `"4TB"`, `"5TB"`, 1))},
		"another version":    {"catalog_0000000000000000", content},
		"empty":              {catalog.ContentVersion([]byte(`[]`)), []byte(`[]`)},
		"not json":           {catalog.ContentVersion([]byte(`datasets:`)), []byte(`datasets:`)},
		"trailing content":   {catalog.ContentVersion(append(append([]byte{}, content...), []byte(` []`)...)), append(append([]byte{}, content...), []byte(` []`)...)},
		"an unknown field":   func() tc { v, d := rehash(func(ds []map[string]any) { ds[0]["owner"] = "x" }); return tc{v, d} }(),
		"a wrong size_bytes": func() tc { v, d := rehash(func(ds []map[string]any) { ds[0]["size_bytes"] = 1 }); return tc{v, d} }(),
		"an invalid layer":   func() tc { v, d := rehash(func(ds []map[string]any) { ds[0]["layer"] = "platinum" }); return tc{v, d} }(),
		"out of order": func() tc {
			v, d := rehash(func(ds []map[string]any) { ds[0], ds[1] = ds[1], ds[0] })
			return tc{v, d}
		}(),
		"not canonical": func() tc {
			d := []byte(strings.Replace(string(content), `{"name"`, `{ "name"`, 1))
			return tc{catalog.ContentVersion(d), d}
		}(),
	}
	for name, k := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := catalog.FromSource(k.version, k.content)
			require.Error(t, err)
			require.True(t, errors.Is(err, catalog.ErrInvalid), "%v", err)
		})
	}
}

func TestSourceOfAHandBuiltCatalog(t *testing.T) {
	t.Parallel()
	c := loadShipped(t)
	hand := &catalog.Catalog{SnapshotVersion: c.SnapshotVersion, Datasets: c.Datasets[:1]}
	_, err := hand.Source()
	require.ErrorIs(t, err, catalog.ErrInvalid)
}
