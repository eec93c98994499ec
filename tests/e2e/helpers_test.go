package e2e_test

// Intents the dev-server tests submit.
const (
	reconcileToSilver = "reconcile nfe with clientes and persist to silver"
	autoAggregate     = "aggregate vendas_diarias by day"
	goldWrite         = "sum valor_total by uf from silver_documentos and write to gold_faturamento_uf"
)
