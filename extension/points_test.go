package extension_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
)

type countingAudit struct {
	next  extension.AuditStorage
	calls int
}

func (c *countingAudit) Append(ctx context.Context, events ...extension.Event) ([]extension.Receipt, error) {
	c.calls++
	return c.next.Append(ctx, events...)
}

func TestWithDefaults(t *testing.T) {
	store := &db.Store{}
	p := extension.Points{}.WithDefaults(store)
	require.Equal(t, store, p.Audit, "the shipped audit storage is the store")
	require.Equal(t, store, p.Snapshots)
	require.Equal(t, store, p.Registry)
	require.Len(t, p.Templates.Backends(), 2, "Postgres and dbt")
	require.Equal(t, "jsonl", p.Formatters[0].Name())

	var wrapped *countingAudit
	p = extension.Points{WrapAudit: func(next extension.AuditStorage) extension.AuditStorage {
		wrapped = &countingAudit{next: next}
		return wrapped
	}}.WithDefaults(store)
	require.Same(t, wrapped, p.Audit, "WrapAudit wraps the storage in force")
	require.Equal(t, store, wrapped.next)
	require.Nil(t, p.WrapAudit, "applied once")
}
