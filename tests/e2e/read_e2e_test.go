package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// TestReadIntentsReturnMaskedRowsOnTheDevServer (issue 14, item 2): a
// user reads through `cfa submit TEXT --wait` on the dev server, a worker
// running the shipped activities on a seeded data plane. Each read is
// resolved, confirmed by an approver (a dataset with PII), governed,
// planned, validated and run under its read role; the CLI prints the rows
// (a table, or under -o json a result object with columns and rows), cpf
// only as its SHA-256 and email redacted: no raw cpf or e-mail of the data
// plane appears in what the user sees.
func TestReadIntentsReturnMaskedRowsOnTheDevServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv := testenv.StartDevServer(ctx, t)
	c := srv.Client()
	d, cat := testenv.DataPlaneDB(ctx, t, "e2e_read", &dataplane.Options{})
	store := db.New(d.Worker)
	startWorker(t, c, devActivities(t, c, store, cat, nil))
	svc := &service.Service{Temporal: c, Store: store}

	cfa := filepath.Join(t.TempDir(), "cfa")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", cfa, "../../starter").CombinedOutput()
	require.NoError(t, err, "build cfa: %s", out)
	submit := func(id, text string, args ...string) (string, int) {
		// maria (governance_team) answers the escalation a PII read opens.
		actx, stop := context.WithCancel(ctx)
		go func() {
			for actx.Err() == nil {
				if p, err := svc.Pending(actx, id); err == nil && p != nil {
					_ = svc.Confirm(actx, id, workflows.SignalApprove, "maria", "a masked read")
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
		defer stop()
		cmd := exec.CommandContext(ctx, cfa, append([]string{"submit", text, "--wait", "--id", id, "--by", "ana", "--as-of", dataplane.DemoAsOf}, args...)...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+d.WorkerURL, "TEMPORAL_ADDRESS="+srv.FrontendHostPort())
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if exit, ok := err.(*exec.ExitError); ok {
			code = exit.ExitCode()
		} else {
			require.NoError(t, err, stderr.String())
		}
		return stdout.String(), code
	}
	// Every raw cpf and e-mail the data plane holds: none may reach the user.
	var raw []string
	rows, err := d.Pool.Query(ctx, `SELECT cpf FROM bronze.clientes UNION SELECT email FROM bronze.clientes
		UNION SELECT cpf FROM bronze.nfe WHERE cpf IS NOT NULL`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		raw = append(raw, s)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, raw)
	noRawPII := func(t *testing.T, out string) {
		t.Helper()
		for _, s := range raw {
			require.NotContains(t, out, s, "raw personal data in what the user sees")
		}
	}
	type result struct {
		DecisionState string `json:"decision_state"`
		Reason        string `json:"reason"`
		Result        *struct {
			Columns []struct {
				Name string `json:"name"`
			} `json:"columns"`
			Rows          [][]any `json:"rows"`
			RowCount      int     `json:"row_count"`
			Truncated     bool    `json:"truncated"`
			MaskedColumns []struct {
				Column string `json:"column"`
				As     string `json:"as"`
				Mask   string `json:"mask"`
			} `json:"masked_columns"`
		} `json:"result"`
	}
	names := func(r result) []string {
		var out []string
		for _, c := range r.Result.Columns {
			out = append(out, c.Name)
		}
		return out
	}
	hash := regexp.MustCompile(`^[0-9a-f]{64}$`)

	t.Run("read clientes, -o json", func(t *testing.T) {
		out, code := submit("read-clientes", "read clientes", "--row-limit", "5", "-o", "json")
		require.Zero(t, code, out)
		var r result
		require.NoError(t, json.Unmarshal([]byte(out), &r), out)
		require.Equal(t, "approved_with_warnings", r.DecisionState, r.Reason)
		require.NotNil(t, r.Result, out)
		require.Equal(t, []string{"cliente_id", "cpf_hash", "email_redacted", "uf", "segmento", "created_at"}, names(r))
		require.Equal(t, 5, r.Result.RowCount)
		require.True(t, r.Result.Truncated, "500 clientes, 5 returned")
		for _, row := range r.Result.Rows {
			require.Regexp(t, hash, row[1])
			require.Equal(t, "***", row[2])
		}
		require.Len(t, r.Result.MaskedColumns, 2)
		require.Equal(t, "clientes.email", r.Result.MaskedColumns[1].Column)
		require.Equal(t, "redact", r.Result.MaskedColumns[1].Mask)
		noRawPII(t, out)

		// The audit trail: READ_EXECUTED, action READ, no row in it.
		rs, err := store.AuditByIntent(ctx, "read-clientes")
		require.NoError(t, err)
		found := false
		for _, rc := range rs {
			if rc.EventType() == audit.EventReadExecuted {
				found = true
				require.Equal(t, audit.ActionRead, rc.Action)
				require.Contains(t, rc.Context["details"], `"rows_returned":5`)
				require.NotContains(t, rc.Context["details"], row0(r.Result.Rows))
			}
			require.NotEqual(t, audit.EventScopeAcquired, rc.EventType(), "a read takes no lock")
		}
		require.True(t, found)
	})

	t.Run("count invoices, -o json", func(t *testing.T) {
		out, code := submit("read-count", "count invoices", "-o", "json")
		require.Zero(t, code, out)
		var r result
		require.NoError(t, json.Unmarshal([]byte(out), &r), out)
		require.Contains(t, []string{"approved", "approved_with_warnings"}, r.DecisionState, r.Reason)
		require.NotNil(t, r.Result, out)
		require.Equal(t, []string{"count"}, names(r))
		require.EqualValues(t, len(dataplane.DemoPartitions)*dataplane.DefaultRowsPerPartition, r.Result.Rows[0][0],
			"the Policy Engine's 30-day window holds the three seeded days")
	})

	t.Run("show me nfe for 2026-01-02, a table", func(t *testing.T) {
		out, code := submit("read-nfe-day", "show me nfe for 2026-01-02", "--row-limit", "3")
		require.Zero(t, code, out)
		require.Contains(t, out, "result: 3 rows, truncated")
		require.Contains(t, out, "masked: nfe.cpf sha256 as cpf_hash (privacy wall)")
		require.Regexp(t, `(?m)^\s+NFE_ID\s+CPF_HASH\s+CLIENTE_ID\s+EMITENTE_CNPJ\s+VALOR_TOTAL\s+UF\s+EMITTED_AT\s+PROCESSING_DATE\s+ITENS$`, out)
		require.Len(t, regexp.MustCompile(`(?m)^\s+NFE-20260102-\d+\s+[0-9a-f]{47}…\s`).FindAllString(out, -1), 3, "three rows of the day, cpf hashed: %s", out)
		noRawPII(t, out)
	})

	t.Run("sum of valor_total by uf last 7 days, -o json", func(t *testing.T) {
		out, code := submit("read-sum-uf", "sum of valor_total by uf last 7 days", "-o", "json")
		require.Zero(t, code, out)
		var r result
		require.NoError(t, json.Unmarshal([]byte(out), &r), out)
		require.NotNil(t, r.Result, out)
		require.Equal(t, []string{"uf", "sum_valor_total"}, names(r))
		require.Equal(t, 27, r.Result.RowCount, "every uf of the seeded data")
		var sp string
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT sum(valor_total)::text FROM bronze.nfe WHERE uf = 'SP' AND processing_date >= DATE '2025-12-28'`).Scan(&sp))
		for _, row := range r.Result.Rows {
			if row[0] == "SP" {
				require.Equal(t, sp, row[1])
			}
		}
	})
}

// row0 is the first row's first cell, as the receipt must not hold it.
func row0(rows [][]any) string {
	if len(rows) == 0 || len(rows[0]) == 0 {
		return "\x00"
	}
	s, _ := rows[0][0].(string)
	if s == "" {
		return "\x00"
	}
	return s
}
