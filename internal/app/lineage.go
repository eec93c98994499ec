package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/lineage"
	"github.com/contextualflux/cfa/internal/lineage/emitter"
)

// LineageConfig is where the worker sends OpenLineage run events
// (docs/lineage.md); off when neither URL nor File is set.
type LineageConfig struct {
	// URL (CFA_OPENLINEAGE_URL) is the lineage server's endpoint, e.g.
	// http://marquez:5000/api/v1/lineage; APIKey (CFA_OPENLINEAGE_API_KEY)
	// is sent as a bearer token.
	URL    string
	APIKey string
	// File (CFA_OPENLINEAGE_FILE) receives the events as JSON lines.
	File string
	// Namespace (CFA_OPENLINEAGE_NAMESPACE, default cfa) is the jobs'.
	Namespace string
	// DatasetNamespace (CFA_OPENLINEAGE_DATASET_NAMESPACE) is the data
	// plane's; empty: postgres://host:port of DATABASE_URL.
	DatasetNamespace string
}

// LineageFromEnv reads LineageConfig from the environment.
func LineageFromEnv() LineageConfig {
	return LineageConfig{
		URL: os.Getenv("CFA_OPENLINEAGE_URL"), APIKey: os.Getenv("CFA_OPENLINEAGE_API_KEY"),
		File: os.Getenv("CFA_OPENLINEAGE_FILE"), Namespace: envOr("CFA_OPENLINEAGE_NAMESPACE", lineage.DefaultNamespace),
		DatasetNamespace: os.Getenv("CFA_OPENLINEAGE_DATASET_NAMESPACE"),
	}
}

// Enabled reports whether events are sent anywhere.
func (l LineageConfig) Enabled() bool { return l.URL != "" || l.File != "" }

// lineageCloseTimeout bounds how long a stopping worker sends what is
// queued.
const lineageCloseTimeout = 10 * time.Second

// WithLineage returns ext with the OpenLineage emitter around the audit
// storage in force (ext.Audit, or the shipped store, wrapped by
// ext.WrapAudit), when lc is enabled: the audit trail's storage_backend is
// how lineage plugs in (docs/adr/0119). The emitter reads an intent's
// trail from that storage (or the store, when it is the shipped one) and
// the plans from the store. The returned func sends what is queued and
// stops the emitter; call it before closing the store.
func WithLineage(ext extension.Points, lc LineageConfig, databaseURL string, cat *catalog.Catalog, store *db.Store, logger *zap.Logger) (extension.Points, func(), error) {
	if !lc.Enabled() {
		return ext, func() {}, nil
	}
	var tr emitter.Transport
	switch {
	case lc.URL != "" && lc.File != "":
		return ext, nil, errors.New("both CFA_OPENLINEAGE_URL and CFA_OPENLINEAGE_FILE are set: set one")
	case lc.URL != "":
		h, err := emitter.NewHTTP(lc.URL, lc.APIKey)
		if err != nil {
			return ext, nil, err
		}
		tr = h
	default:
		f, err := emitter.OpenFile(lc.File)
		if err != nil {
			return ext, nil, err
		}
		tr = f
	}
	base := ext.Audit
	var trail emitter.TrailReader
	var plans emitter.PlanReader
	if store != nil {
		trail, plans = store, store
	}
	if base == nil && store != nil {
		base = store
	} else if r, ok := base.(emitter.TrailReader); ok {
		trail = r
	} else {
		closeTransport(tr)
		return ext, nil, fmt.Errorf("OpenLineage needs to read an intent's audit trail, and the audit storage %T cannot (AuditByIntent): unset CFA_OPENLINEAGE_URL and CFA_OPENLINEAGE_FILE, or give it that method", base)
	}
	if ext.WrapAudit != nil {
		base, ext.WrapAudit = ext.WrapAudit(base), nil
	}
	opts := lineage.Options{Namespace: lc.Namespace, DatasetNamespace: lc.DatasetNamespace}
	if pg, err := pgconn.ParseConfig(databaseURL); err == nil {
		opts.Database = pg.Database
		if opts.DatasetNamespace == "" && pg.Host != "" {
			opts.DatasetNamespace = fmt.Sprintf("postgres://%s:%d", pg.Host, pg.Port)
		}
	}
	em, err := emitter.New(base, emitter.Config{
		Options: opts, Catalog: cat, Trail: trail, Plans: plans, Transport: tr,
		OnError: func(err error) { logger.Warn("OpenLineage event not sent; the audit trail has it", zap.Error(err)) },
	})
	if err != nil {
		closeTransport(tr)
		return ext, nil, err
	}
	ext.Audit = em
	logger.Info("OpenLineage run events on", zap.String("destination", tr.String()),
		zap.String("namespace", opts.Namespace), zap.String("dataset_namespace", opts.DatasetNamespace))
	return ext, func() {
		ctx, cancel := context.WithTimeout(context.Background(), lineageCloseTimeout)
		defer cancel()
		if err := em.Close(ctx); err != nil {
			logger.Warn("OpenLineage events still queued at stop were not sent", zap.Error(err))
		}
	}, nil
}

func closeTransport(tr emitter.Transport) {
	if c, ok := tr.(io.Closer); ok {
		_ = c.Close()
	}
}
