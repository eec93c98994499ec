package resolution

import (
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/signature"
)

// opWords is the closed vocabulary of operation verbs, English and
// Portuguese, folded (lower case, no accents).
var opWords = map[string]string{}

// vagueWords relate two datasets without saying how: join or enrich. They
// make competing interpretations rather than a guess (docs/adr/0012).
var vagueWords = set("combine", "combinar", "relate", "relacionar", "link", "associate", "associar", "mix", "misturar", "juntar", "unir", "integrate", "integrar")

// writeWords ask for the result to be persisted somewhere.
var writeWords = set("persist", "persistir", "write", "escrever", "save", "salvar", "store", "armazenar", "gravar", "materialize", "materializar", "land")

// layerWords name medallion layers, with the Portuguese colours.
var layerWords = map[string]string{
	"bronze": signature.LayerBronze,
	"silver": signature.LayerSilver, "prata": signature.LayerSilver,
	"gold": signature.LayerGold, "ouro": signature.LayerGold,
}

var (
	sourceMarkers = set("from", "de", "da", "do", "dos", "das")
	// strongTarget always introduces a destination; weakTarget only when the
	// text also asks to write ("join nfe to clientes" is not a write).
	strongTarget = set("into", "onto", "para", "pra")
	weakTarget   = set("to", "in", "na", "no", "nas", "nos", "em")
	// skipped between a marker and what it introduces: "into the silver layer".
	fillers   = set("the", "a", "o", "os", "as", "table", "tabela", "dataset", "camada", "layer")
	keyMarker = set("key", "chave", "on", "using", "usando", "by", "por")
	// groupMarkers introduce a grouping key: "by store", "por total", "per
	// state", "for each store", "pela loja". The word after one (past an
	// article) is a noun, never an operation or a write verb.
	groupMarkers = set("by", "por", "per", "pelo", "pela", "pelos", "pelas", "each", "cada", "every")
	articles     = set("the", "a", "o", "os", "as")
)

// stopWords are common words that carry no evidence: never typo-matched,
// never counted as unknown.
var stopWords = set(
	"the", "a", "an", "o", "os", "as", "e", "and", "with", "com", "to", "into", "onto", "in", "on", "na", "no", "nas", "nos", "em",
	"para", "pra", "de", "da", "do", "dos", "das", "from", "by", "por", "per", "of", "for", "all", "todos", "todas", "todo", "toda",
	"please", "favor", "me", "show", "mostrar", "mostre", "give", "get", "list", "listar", "data", "dados", "report", "relatorio",
	"table", "tabela", "dataset", "layer", "camada", "then", "depois", "also", "tambem", "it", "that", "que", "this", "esse", "essa",
	"each", "cada", "since", "desde", "last", "past", "ultimos", "ultimas", "ultimo", "ultima", "days", "dias", "day", "dia", "weeks",
	"week", "semanas", "semana", "passada", "between", "entre", "until", "through", "ate", "before", "antes", "after", "apos", "partir",
	"key", "chave", "using", "usando", "i", "want", "quero", "need", "preciso", "some", "make", "fazer", "run", "rodar", "executar",
	"execute", "new", "novo", "nova", "only", "apenas", "just", "my", "meu", "minha", "our", "nosso", "revenue", "faturamento",
	"state", "states", "estado", "estados", "value", "valor", "amount", "them", "result", "resultado", "tudo", "everything",
	"pelo", "pela", "pelos", "pelas", "every",
)

func init() {
	for op, words := range map[string][]string{
		signature.OpIngest:    {"ingest", "ingestion", "ingerir", "ingestao", "load", "carregar", "import", "importar"},
		signature.OpJoin:      {"join", "reconcile", "reconciliation", "reconciliar", "reconciliacao", "conciliar", "conciliacao", "cruzar", "cruzamento", "cross", "match"},
		signature.OpEnrich:    {"enrich", "enrichment", "enriquecer", "enriquecimento", "augment"},
		signature.OpAnonymize: {"anonymize", "anonymise", "anonymization", "anonymisation", "anonimizar", "anonimizacao", "mask", "mascarar", "pseudonymize", "pseudonimizar"},
		signature.OpAggregate: {"aggregate", "aggregation", "agregar", "agregacao", "sum", "somar", "soma", "total", "totals", "totalize", "totalizar", "group", "agrupar", "count", "contar"},
		signature.OpDedupe:    {"dedupe", "dedup", "deduplicate", "deduplication", "deduplicar", "deduplicacao", "distinct"},
		signature.OpMerge:     {"merge", "upsert", "mesclar"},
		signature.OpPublish:   {"publish", "publication", "publicar", "publicacao", "release"},
	} {
		for _, w := range words {
			opWords[w] = op
		}
	}
	tabulateOps()
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// inflections are the suffixes exactOp strips, in the order it tries them.
var inflections = []string{"ing", "ed", "es", "s"}

// opForms maps every word exactOp accepts, verbs and their inflections, to
// its operation; built once from opWords by deriveOp.
var opForms = map[string]string{}

// opList is opWords sorted by word, so typoOp's scan has a fixed order.
var opList []opWord

type opWord struct{ word, op string }

// tabulateOps fills opForms and opList once opWords is complete.
func tabulateOps() {
	for w := range opWords {
		opList = append(opList, opWord{w, opWords[w]})
		// deriveOp accepts tok when tok is a verb, or a verb (or a verb
		// without its final "e") plus a suffix: those are all candidates.
		stems := []string{w}
		if s, ok := strings.CutSuffix(w, "e"); ok {
			stems = append(stems, s)
		}
		cands := []string{w}
		for _, stem := range stems {
			for _, suf := range inflections {
				cands = append(cands, stem+suf)
			}
		}
		for _, c := range cands {
			if op, ok := deriveOp(c); ok {
				opForms[c] = op
			}
		}
	}
	slices.SortFunc(opList, func(a, b opWord) int { return strings.Compare(a.word, b.word) })
}

// exactOp finds a verb's operation, accepting common inflections
// ("reconciled", "joins", "aggregating") as exact evidence.
func exactOp(tok string) (string, bool) {
	op, ok := opForms[tok]
	return op, ok
}

// deriveOp is exactOp's rule, which opForms tabulates: the verb itself,
// else the first suffix whose stem (or stem + "e") is a verb.
func deriveOp(tok string) (string, bool) {
	if op, ok := opWords[tok]; ok {
		return op, true
	}
	for _, suf := range inflections {
		stem, ok := strings.CutSuffix(tok, suf)
		if !ok || len(stem) < 3 {
			continue
		}
		for _, cand := range []string{stem, stem + "e"} {
			if op, ok := opWords[cand]; ok {
				return op, true
			}
		}
	}
	return "", false
}

// typoOp finds the operation whose verb is within typo tolerance; ties go
// to the alphabetically first verb so the answer never depends on map order.
func typoOp(tok string) (string, bool) {
	best, bestOp := -1, ""
	for _, w := range opList { // sorted: the first of a tie is kept
		d, ok := catalog.WithinTypo(tok, w.word)
		if !ok {
			continue
		}
		if best < 0 || d < best {
			best, bestOp = d, w.op
		}
	}
	return bestOp, best >= 0
}

// isVocabulary reports words the scanner reads for meaning, so they are
// never taken for a misspelt dataset.
func isVocabulary(tok string) bool {
	if _, ok := exactOp(tok); ok {
		return true
	}
	_, layer := layerWords[tok]
	return layer || stopWords[tok] || vagueWords[tok] || writeWords[tok]
}
