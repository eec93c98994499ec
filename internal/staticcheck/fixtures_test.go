package staticcheck

// fiscalRules are the whitepaper's Silver load: bronze.nfe is high volume,
// the target is silver.silver_documentos with the 5.6 schema contract.
func fiscalRules() Rules {
	return Rules{
		HighVolumeTables: []string{"bronze.nfe", "bronze.nfe_itens"},
		TemporalColumns: map[string]string{
			"bronze.nfe":               "processing_date",
			"bronze.nfe_itens":         "processing_date",
			"silver.silver_documentos": "processing_date",
		},
		TargetTable:      "silver.silver_documentos",
		TargetLayer:      LayerSilver,
		ExpectedColumns:  []string{"nfe_id", "cpf_hash", "processing_date"},
		ForbiddenColumns: []string{"cpf", "email"},
	}
}

// opsRules check operations and scans only (no target, no contract), so a
// case shows exactly the rule it is about.
func opsRules() Rules {
	r := fiscalRules()
	r.TargetTable, r.TargetLayer, r.ExpectedColumns, r.ForbiddenColumns = "", "", nil, nil
	return r
}

// fiscalMerge is a realistic 40-line generated script: extract with the
// FinOps filter, anonymize, join, dedupe, MERGE on the signature's key.
const fiscalMerge = `-- intent: fiscal_documents_silver (generated, do not edit)
BEGIN;
SET LOCAL statement_timeout = '300s';
WITH extract AS (
    SELECT n.nfe_id, n.cliente_id, n.valor_total, n.processing_date
    FROM bronze.nfe AS n
    WHERE n.processing_date BETWEEN DATE '2026-01-01' AND DATE '2026-01-31'
      AND n.status = 'autorizada'
      AND n.valor_total > 0
), clientes_anon AS (
    SELECT c.cliente_id,
           encode(sha256(convert_to(c.cpf, 'UTF8')), 'hex') AS cpf_hash,
           c.uf
    FROM bronze.clientes AS c
), joined AS (
    SELECT e.nfe_id, a.cpf_hash, a.uf, e.valor_total, e.processing_date
    FROM extract AS e
    JOIN clientes_anon AS a ON a.cliente_id = e.cliente_id
), deduped AS (
    SELECT j.*,
           row_number() OVER (PARTITION BY j.nfe_id
                              ORDER BY j.processing_date DESC) AS rn
    FROM joined AS j
)
-- load: merge on (nfe_id, processing_date), merge_with_deterministic_key
MERGE INTO silver.silver_documentos AS t
USING (
    SELECT nfe_id, cpf_hash, uf, valor_total, processing_date
    FROM deduped
    WHERE rn = 1
) AS s
ON t.nfe_id = s.nfe_id AND t.processing_date = s.processing_date
WHEN MATCHED THEN
    UPDATE SET cpf_hash = s.cpf_hash,
               uf = s.uf,
               valor_total = s.valor_total
WHEN NOT MATCHED THEN
    INSERT (nfe_id, cpf_hash, uf, valor_total, processing_date)
    VALUES (s.nfe_id, s.cpf_hash, s.uf, s.valor_total, s.processing_date);
COMMIT;
`

const fiscalUpsert = `INSERT INTO silver.silver_documentos (nfe_id, cpf_hash, processing_date)
SELECT n.nfe_id, encode(sha256(convert_to(n.cpf, 'UTF8')), 'hex'), n.processing_date
FROM bronze.nfe n
WHERE n.processing_date >= '2026-01-01' AND n.processing_date < '2026-02-01'
ON CONFLICT (nfe_id) DO UPDATE SET cpf_hash = EXCLUDED.cpf_hash`

const fiscalOverwrite = `DELETE FROM silver.silver_documentos WHERE processing_date = DATE '2026-01-01';
INSERT INTO silver.silver_documentos (nfe_id, cpf_hash, processing_date)
SELECT n.nfe_id, md5(n.cpf), n.processing_date
FROM bronze.nfe n
WHERE n.processing_date = DATE '2026-01-01'`
