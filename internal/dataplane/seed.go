package dataplane

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/planner"
)

// DemoPartitions are the default processing_date partitions, and DemoAsOf
// the planner's AsOf whose last_days window covers them (the whitepaper
// reconciliation reads the 30 days ending on AsOf).
var DemoPartitions = []string{"2026-01-01", "2026-01-02", "2026-01-03"}

// DemoAsOf is the last DemoPartitions day, as YYYY-MM-DD.
const DemoAsOf = "2026-01-03"

// Defaults of Options, and the null ratio of cliente_id in a partition that
// is not broken: low, so the demo shows nulls within max_null_ratio (5%).
const (
	DefaultRowsPerPartition = 2000
	DefaultClientCount      = 500
	DefaultBreakNullRatio   = 0.12
	BaseNullRatio           = 0.01
)

// Options drive Seed. The zero value seeds the demo: DemoPartitions,
// DefaultRowsPerPartition, DefaultClientCount, seed 0, nothing broken.
type Options struct {
	// Partitions are the processing_date (and sale_date) values, YYYY-MM-DD.
	Partitions []string
	// RowsPerPartition is the number of nfe rows in each partition.
	RowsPerPartition int
	// ClientCount is the number of clientes rows.
	ClientCount int
	// Seed selects the data; the same Options give byte-identical rows.
	Seed int64
	// BreakPartition, one of Partitions, gets BreakNullRatio of its nfe rows
	// without cliente_id (and cpf), above the 5% max_null_ratio of 5.7.
	BreakPartition string
	// BreakNullRatio is the null ratio of cliente_id in BreakPartition; 0
	// means DefaultBreakNullRatio. The count is exact: round(ratio × rows).
	BreakNullRatio float64
}

func (o Options) normalize() (Options, error) {
	if len(o.Partitions) == 0 {
		o.Partitions = DemoPartitions
	}
	o.Partitions = slices.Clone(o.Partitions)
	slices.Sort(o.Partitions)
	for i, p := range o.Partitions {
		if _, err := planner.ParseDate(p); err != nil {
			return o, fmt.Errorf("%w: partition: %w", ErrInvalidOptions, err)
		}
		if i > 0 && o.Partitions[i-1] == p {
			return o, fmt.Errorf("%w: partition %s given twice", ErrInvalidOptions, p)
		}
	}
	if o.RowsPerPartition == 0 {
		o.RowsPerPartition = DefaultRowsPerPartition
	}
	if o.ClientCount == 0 {
		o.ClientCount = DefaultClientCount
	}
	if o.RowsPerPartition < 1 || o.RowsPerPartition > 1_000_000 || o.ClientCount < 1 || o.ClientCount > 1_000_000 {
		return o, fmt.Errorf("%w: rows per partition %d and client count %d must be within 1..1000000", ErrInvalidOptions, o.RowsPerPartition, o.ClientCount)
	}
	if o.BreakPartition != "" && !slices.Contains(o.Partitions, o.BreakPartition) {
		return o, fmt.Errorf("%w: break partition %s is not one of the partitions %v", ErrInvalidOptions, o.BreakPartition, o.Partitions)
	}
	if o.BreakNullRatio == 0 {
		o.BreakNullRatio = DefaultBreakNullRatio
	}
	if !(o.BreakNullRatio > 0 && o.BreakNullRatio <= 1) {
		return o, fmt.Errorf("%w: break null ratio %v must be in (0, 1]", ErrInvalidOptions, o.BreakNullRatio)
	}
	return o, nil
}

// NullRows is the exact number of nfe rows of partition p without
// cliente_id under o (after defaults).
func (o Options) NullRows(p string) int {
	ratio := BaseNullRatio
	if p == o.BreakPartition {
		ratio = o.BreakNullRatio
		if ratio == 0 {
			ratio = DefaultBreakNullRatio
		}
	}
	rows := o.RowsPerPartition
	if rows == 0 {
		rows = DefaultRowsPerPartition
	}
	return int(math.Round(ratio * float64(rows)))
}

// Seed replaces the rows of every bronze dataset of the catalog with
// generated ones, in one transaction: nfe over the partitions (cpf raw,
// items as JSON), clientes with raw cpf and email, produtos, vendas_diarias
// per partition, and a few rows of any other bronze dataset. No clock and
// no global random source are read: every partition draws from its own
// stream of math/rand/v2's PCG keyed by Seed and the partition, so the same
// Options always give the same rows. Run Ensure first.
func Seed(ctx context.Context, db Beginner, cat *catalog.Catalog, opts Options) error {
	o, err := opts.normalize()
	if err != nil {
		return fmt.Errorf("seed data plane: %w", err)
	}
	g := newGenerator(o)
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("seed data plane: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var bronze []catalog.Dataset
	for _, d := range cat.Datasets {
		if d.Layer == SchemaBronze {
			bronze = append(bronze, d)
		}
	}
	if len(bronze) == 0 {
		return fmt.Errorf("seed data plane: catalog %s has no bronze dataset", cat.SnapshotVersion)
	}
	names := make([]string, len(bronze))
	for i, d := range bronze {
		names[i] = Table(d)
	}
	if _, err := tx.Exec(ctx, "TRUNCATE "+strings.Join(names, ", ")); err != nil {
		return fmt.Errorf("seed data plane: %w: run dataplane.Ensure first", err)
	}
	for _, d := range bronze {
		rows, err := g.rows(d)
		if err != nil {
			return fmt.Errorf("seed %s: %w", d.Name, err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{d.Layer, d.Name}, columnNames(d), pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("seed %s: copy %d rows: %w", d.Name, len(rows), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("seed data plane: commit: %w", err)
	}
	return nil
}

// row is one generated row by column name; columns the generator does not
// know are filled by type, so a catalog change does not break seeding.
type row map[string]any

type client struct {
	id, cpf, uf string
}

type product struct {
	id    string
	cents int64
}

type generator struct {
	o        Options
	clients  []client
	products []product
	cliRows  []row
	prodRows []row
}

var (
	ufs        = []string{"AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "MS", "MT", "PA", "PB", "PE", "PI", "PR", "RJ", "RN", "RO", "RR", "RS", "SC", "SE", "SP", "TO"}
	segmentos  = []string{"varejo", "atacado", "pme", "governo", "pessoa_fisica"}
	firstNames = []string{"ana", "bruno", "carla", "diego", "elisa", "fabio", "gabriela", "hugo", "isabel", "joao", "karina", "lucas", "marina", "nuno", "olivia", "paulo"}
	lastNames  = []string{"silva", "santos", "oliveira", "souza", "lima", "pereira", "costa", "rodrigues", "almeida", "nascimento", "carvalho", "gomes"}
	adjectives = []string{"compacto", "premium", "basico", "industrial", "organico", "digital"}
	nouns      = []string{"cafe", "parafuso", "caderno", "sabonete", "cabo", "arroz", "tinta", "monitor"}
	categorias = []string{"alimentos", "ferragens", "papelaria", "higiene", "eletronicos"}
	epoch      = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

const productCount = 40

func newGenerator(o Options) *generator {
	g := &generator{o: o}
	r := g.stream("clientes")
	for i := range o.ClientCount {
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		c := client{id: fmt.Sprintf("cli-%06d", i+1), cpf: cpf(r), uf: ufs[r.IntN(len(ufs))]}
		g.clients = append(g.clients, c)
		g.cliRows = append(g.cliRows, row{
			"cliente_id": c.id, "cpf": c.cpf, "uf": c.uf,
			"email":      fmt.Sprintf("%s.%s.%d@example.com.br", first, last, i+1),
			"segmento":   segmentos[r.IntN(len(segmentos))],
			"created_at": epoch.Add(time.Duration(r.Int64N(2*365*86400)) * time.Second),
		})
	}
	r = g.stream("produtos")
	for i := range productCount {
		p := product{id: fmt.Sprintf("prod-%04d", i+1), cents: 500 + r.Int64N(49_500)}
		g.products = append(g.products, p)
		g.prodRows = append(g.prodRows, row{
			"produto_id": p.id,
			"descricao":  nouns[r.IntN(len(nouns))] + " " + adjectives[r.IntN(len(adjectives))],
			"ncm":        digits(r, 8),
			"categoria":  categorias[r.IntN(len(categorias))],
		})
	}
	return g
}

// stream is a PCG source keyed by the seed and the given names, so one
// partition's rows do not depend on which other partitions are seeded.
func (g *generator) stream(names ...string) *rand.Rand {
	h := fnv.New64a()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(uint64(g.o.Seed), h.Sum64()))
}

// rows generates d's rows in column order.
func (g *generator) rows(d catalog.Dataset) ([][]any, error) {
	var named []row
	switch d.Name {
	case "clientes":
		named = g.cliRows
	case "produtos":
		named = g.prodRows
	case "nfe":
		for _, p := range g.o.Partitions {
			named = append(named, g.nfe(p)...)
		}
	case "vendas_diarias":
		for _, p := range g.o.Partitions {
			named = append(named, g.vendas(p)...)
		}
	default:
		// A dataset the generator does not know: a few rows per partition
		// when partitioned by a date, else a few rows.
		parts := []string{""}
		if d.PartitionKey != "" && columnType(d, d.PartitionKey) == "date" {
			parts = g.o.Partitions
		}
		for _, p := range parts {
			for range 20 {
				r := row{}
				if p != "" {
					r[d.PartitionKey] = mustDate(p)
				}
				named = append(named, r)
			}
		}
	}
	fill := g.stream(d.Name, "fill")
	out := make([][]any, len(named))
	for i, r := range named {
		vals := make([]any, len(d.Columns))
		for j, c := range d.Columns {
			v, ok := r[c.Name]
			if !ok {
				var err error
				if v, err = generic(fill, c, i); err != nil {
					return nil, err
				}
			}
			vals[j] = v
		}
		out[i] = vals
	}
	return out, nil
}

func (g *generator) nfe(p string) []row {
	r := g.stream("nfe", p)
	n := g.o.RowsPerPartition
	day := mustDate(p)
	null := make([]bool, n)
	for _, i := range r.Perm(n)[:g.o.NullRows(p)] {
		null[i] = true
	}
	compact := strings.ReplaceAll(p, "-", "")
	out := make([]row, n)
	for i := range n {
		c := g.clients[r.IntN(len(g.clients))]
		var items []string
		var total int64
		for range 1 + r.IntN(4) {
			pr := g.products[r.IntN(len(g.products))]
			qty := 1 + r.Int64N(10)
			total += qty * pr.cents
			items = append(items, fmt.Sprintf(`{"produto_id":%q,"quantidade":%d,"valor":%s}`, pr.id, qty, cents(pr.cents)))
		}
		rw := row{
			"nfe_id":          "NFE-" + compact + "-" + fmt.Sprintf("%06d", i+1),
			"cpf":             c.cpf,
			"cliente_id":      c.id,
			"emitente_cnpj":   digits(r, 14),
			"valor_total":     numeric(total),
			"uf":              c.uf,
			"emitted_at":      day.Add(time.Duration(r.Int64N(86400)) * time.Second),
			"processing_date": day,
			"itens":           []byte("[" + strings.Join(items, ",") + "]"),
		}
		if null[i] { // an invoice without an identified customer
			rw["cliente_id"], rw["cpf"] = nil, nil
		}
		out[i] = rw
	}
	return out
}

func (g *generator) vendas(p string) []row {
	r := g.stream("vendas_diarias", p)
	day := mustDate(p)
	compact := strings.ReplaceAll(p, "-", "")
	n := max(10, g.o.RowsPerPartition/10)
	out := make([]row, n)
	for i := range n {
		pr := g.products[r.IntN(len(g.products))]
		qty := 1 + r.Int64N(20)
		out[i] = row{
			"venda_id":   "VND-" + compact + "-" + fmt.Sprintf("%06d", i+1),
			"produto_id": pr.id,
			"quantidade": int32(qty),
			"valor":      numeric(qty * pr.cents),
			"uf":         ufs[r.IntN(len(ufs))],
			"sale_date":  day,
		}
	}
	return out
}

// generic fills a column the generator has no rule for, by its type.
func generic(r *rand.Rand, c catalog.Column, i int) (any, error) {
	pt, err := codegen.PostgresType(c.Type)
	if err != nil {
		return nil, err
	}
	switch {
	case pt == "text":
		return fmt.Sprintf("%s-%06d", c.Name, i+1), nil
	case pt == "integer":
		return int32(r.IntN(1000)), nil
	case pt == "bigint":
		return r.Int64N(1_000_000), nil
	case pt == "smallint":
		return int16(r.IntN(100)), nil
	case pt == "boolean":
		return r.IntN(2) == 1, nil
	case pt == "double precision":
		return float64(r.IntN(100_000)) / 100, nil
	case strings.HasPrefix(pt, "numeric"):
		return numeric(r.Int64N(1_000_000)), nil
	case pt == "date":
		return epoch.AddDate(0, 0, r.IntN(730)), nil
	case pt == "timestamp":
		return epoch.Add(time.Duration(r.Int64N(2*365*86400)) * time.Second), nil
	case pt == "jsonb":
		if strings.HasPrefix(c.Type, "array<") {
			return []byte("[]"), nil
		}
		return []byte("{}"), nil
	}
	return nil, fmt.Errorf("column %s: no generator for Postgres type %s", c.Name, pt)
}

// cpf draws a CPF with valid check digits, formatted 000.000.000-00.
func cpf(r *rand.Rand) string {
	var d [11]int
	for i := range 9 {
		d[i] = r.IntN(10)
	}
	for k := 9; k <= 10; k++ {
		sum := 0
		for i := range k {
			sum += d[i] * (k + 1 - i)
		}
		d[k] = sum * 10 % 11 % 10
	}
	var b strings.Builder
	for i, v := range d {
		switch i {
		case 3, 6:
			b.WriteByte('.')
		case 9:
			b.WriteByte('-')
		}
		b.WriteByte(byte('0' + v))
	}
	return b.String()
}

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

func numeric(cents int64) pgtype.Numeric {
	return pgtype.Numeric{Int: big.NewInt(cents), Exp: -2, Valid: true}
}

func cents(c int64) string { return strconv.FormatInt(c/100, 10) + "." + fmt.Sprintf("%02d", c%100) }

// mustDate parses a date normalize already checked.
func mustDate(p string) time.Time {
	t, err := planner.ParseDate(p)
	if err != nil {
		panic(err)
	}
	return t
}
