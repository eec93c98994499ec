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
// never counted as unknown. Words that name columns (revenue, faturamento,
// state, valor, amount, value) are not here: the catalog's column aliases
// read them (docs/adr/0131).
var stopWords = set(
	"the", "a", "an", "o", "os", "as", "e", "and", "with", "com", "to", "into", "onto", "in", "on", "na", "no", "nas", "nos", "em",
	"para", "pra", "de", "da", "do", "dos", "das", "from", "by", "por", "per", "of", "for", "all", "todos", "todas", "todo", "toda",
	"please", "favor", "me", "data", "dados", "report", "relatorio",
	"table", "tabela", "dataset", "layer", "camada", "then", "depois", "also", "tambem", "it", "that", "que", "this", "esse", "essa",
	"each", "cada", "since", "desde", "last", "past", "ultimos", "ultimas", "ultimo", "ultima", "days", "dias", "day", "dia", "weeks",
	"week", "semanas", "semana", "passada", "between", "entre", "until", "through", "ate", "before", "antes", "after", "apos", "partir",
	"key", "chave", "using", "usando", "i", "want", "quero", "need", "preciso", "some", "make", "fazer", "run", "rodar", "executar",
	"execute", "new", "novo", "nova", "only", "apenas", "just", "my", "meu", "minha", "our", "nosso",
	"them", "result", "resultado", "tudo", "everything", "pelo", "pela", "pelos", "pelas", "every",
	"where", "onde", "whose", "cujo", "cuja", "cujos", "cujas", "having", "is", "are", "of", "how", "many", "what", "qual", "quais",
	"rows", "row", "records", "record", "registros", "registro", "linhas", "linha", "lines", "entries", "columns", "colunas", "fields", "campos",
	"can", "you", "voce", "could", "would", "like", "gostaria", "let", "at", "um", "uma",
)

// readWords ask to see data. Alone they are a read (signature.OpRead);
// with another operation ("show me the total revenue by uf") they only
// say that the result is wanted.
var readWords = set(
	"show", "shows", "showing", "list", "lists", "listing", "read", "reads", "reading", "display", "displays", "select", "selects",
	"view", "views", "see", "get", "give", "fetch", "query", "browse", "preview", "inspect",
	"mostrar", "mostre", "mostra", "listar", "liste", "lista", "ler", "leia", "exibir", "exiba", "exibe", "ver", "veja",
	"consultar", "consulte", "consulta", "selecionar", "selecione", "trazer", "traga", "buscar", "busque",
)

// measureWords name an aggregate function (signature.Func*); the column
// after them is measured: "sum of valor_total", "média de valor_total",
// "count distinct cliente_id". Every one also asks to aggregate.
var measureWords = map[string]string{
	"sum": signature.FuncSum, "sums": signature.FuncSum, "summing": signature.FuncSum, "summed": signature.FuncSum,
	"soma": signature.FuncSum, "somar": signature.FuncSum, "somas": signature.FuncSum, "somatorio": signature.FuncSum,
	"total": signature.FuncSum, "totals": signature.FuncSum, "totalize": signature.FuncSum, "totalizar": signature.FuncSum,
	"avg": signature.FuncAvg, "average": signature.FuncAvg, "averages": signature.FuncAvg, "mean": signature.FuncAvg,
	"media": signature.FuncAvg, "medio": signature.FuncAvg,
	"min": signature.FuncMin, "minimum": signature.FuncMin, "minimo": signature.FuncMin, "minima": signature.FuncMin,
	"max": signature.FuncMax, "maximum": signature.FuncMax, "maximo": signature.FuncMax, "maxima": signature.FuncMax,
	"count": signature.FuncCount, "counts": signature.FuncCount, "counting": signature.FuncCount, "contar": signature.FuncCount,
	"conte": signature.FuncCount, "contagem": signature.FuncCount, "quantos": signature.FuncCount, "quantas": signature.FuncCount,
}

// countPhrases are counts said in two words: "number of invoices",
// "quantidade de notas", "how many clientes".
var countPhrases = [][2]string{{"number", "of"}, {"numero", "de"}, {"quantidade", "de"}, {"qtd", "de"}, {"how", "many"}}

// distinctWords turn a count into count_distinct: "count distinct X",
// "contar X distintos", "number of unique X".
var distinctWords = set("distinct", "unique", "distinto", "distinta", "distintos", "distintas", "unico", "unica", "unicos", "unicas", "diferentes")

// slotSkip are the words between a function or marker and its column:
// "the sum of the valor_total", "a soma dos valores".
var slotSkip = set("the", "a", "an", "o", "os", "as", "of", "de", "da", "do", "dos", "das", "all", "todos", "todas", "me", "us", "nos")

// conjunctions continue a list of columns: "by uf and segmento".
var conjunctions = set("and", "e")

// filterMarkers introduce a row filter. Strong ones always do ("where
// uf SP" is uf = SP); weak ones only before a column of the catalog and a
// value ("for uf SP", "with valor_total above 1000"), since "with
// clientes" and "for each store" are not filters.
var (
	strongFilter = set("where", "onde", "whose", "cujo", "cuja", "cujos", "cujas", "having")
	weakFilter   = set("with", "com", "for", "para")
)

// wordOperators are comparisons written in words, longest first where one
// is the prefix of another.
var wordOperators = []struct {
	words []string
	op    string
}{
	{[]string{"is", "not", "equal", "to"}, "!="}, {[]string{"not", "equal", "to"}, "!="}, {[]string{"is", "not"}, "!="},
	{[]string{"different", "from"}, "!="}, {[]string{"diferente", "de"}, "!="}, {[]string{"not"}, "!="}, {[]string{"nao"}, "!="},
	{[]string{"greater", "than", "or", "equal", "to"}, ">="}, {[]string{"maior", "ou", "igual", "a"}, ">="},
	{[]string{"less", "than", "or", "equal", "to"}, "<="}, {[]string{"menor", "ou", "igual", "a"}, "<="},
	{[]string{"is", "greater", "than"}, ">"}, {[]string{"greater", "than"}, ">"}, {[]string{"more", "than"}, ">"}, {[]string{"higher", "than"}, ">"},
	{[]string{"bigger", "than"}, ">"}, {[]string{"above"}, ">"}, {[]string{"over"}, ">"}, {[]string{"maior", "do", "que"}, ">"},
	{[]string{"maior", "que"}, ">"}, {[]string{"acima", "de"}, ">"}, {[]string{"gt"}, ">"},
	{[]string{"is", "less", "than"}, "<"}, {[]string{"less", "than"}, "<"}, {[]string{"lower", "than"}, "<"}, {[]string{"smaller", "than"}, "<"},
	{[]string{"below"}, "<"}, {[]string{"under"}, "<"}, {[]string{"menor", "do", "que"}, "<"}, {[]string{"menor", "que"}, "<"},
	{[]string{"abaixo", "de"}, "<"}, {[]string{"lt"}, "<"},
	{[]string{"at", "least"}, ">="}, {[]string{"pelo", "menos"}, ">="}, {[]string{"no", "minimo"}, ">="}, {[]string{"gte"}, ">="},
	{[]string{"at", "most"}, "<="}, {[]string{"no", "maximo"}, "<="}, {[]string{"lte"}, "<="},
	{[]string{"is", "equal", "to"}, "="}, {[]string{"equal", "to"}, "="}, {[]string{"equals"}, "="}, {[]string{"igual", "a"}, "="},
	{[]string{"eq"}, "="}, {[]string{"is"}, "="},
}

// operatorTokens are the comparison operators as typed, mapped to the
// signature's (RowFilter.Operator).
var operatorTokens = map[string]string{"=": "=", "==": "=", "!=": "!=", "<>": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}

// updateWords rewrite the datasets they name: "update silver_documentos
// and clientes_anon from nfe and clientes" (a merge whose objects are the
// targets).
var updateWords = set("update", "updates", "updating", "atualizar", "atualize", "atualiza")

func init() {
	for op, words := range map[string][]string{
		signature.OpIngest:    {"ingest", "ingestion", "ingerir", "ingestao", "load", "carregar", "carregue", "import", "importar", "importe"},
		signature.OpJoin:      {"join", "reconcile", "reconciliation", "reconciliar", "reconcilie", "reconciliacao", "conciliar", "concilie", "conciliacao", "cruzar", "cruze", "cruzamento", "cross", "match"},
		signature.OpEnrich:    {"enrich", "enrichment", "enriquecer", "enriqueca", "enriquecimento", "augment"},
		signature.OpAnonymize: {"anonymize", "anonymise", "anonymization", "anonymisation", "anonimizar", "anonimize", "anonimizacao", "mask", "mascarar", "mascare", "pseudonymize", "pseudonimizar"},
		signature.OpAggregate: {"aggregate", "aggregation", "agregar", "agregacao", "sum", "somar", "soma", "total", "totals", "totalize", "totalizar", "group", "agrupar", "count", "contar",
			"average", "media", "minimum", "maximum", "minimo", "maximo", "contagem", "summarize", "resumir", "agregue", "agrupe"},
		signature.OpDedupe:  {"dedupe", "dedup", "deduplicate", "deduplication", "deduplicar", "deduplique", "deduplicacao", "distinct"},
		signature.OpMerge:   {"merge", "upsert", "mesclar", "mescle", "update", "atualizar"},
		signature.OpPublish: {"publish", "publication", "publicar", "publique", "publicacao", "release"},
	} {
		for _, w := range words {
			opWords[w] = op
		}
	}
	tabulateOps()
	for w := range measureWords {
		measureList = append(measureList, w)
	}
	slices.Sort(measureList)
}

// measureList is measureWords' words sorted, so typoMeasure's scan has a
// fixed order.
var measureList []string

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
	_, measure := measureWords[tok]
	return layer || measure || stopWords[tok] || vagueWords[tok] || writeWords[tok] || readWords[tok] || updateWords[tok]
}
