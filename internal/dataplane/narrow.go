package dataplane

import (
	"fmt"
	"slices"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
)

// NarrowToPartition rewrites a unit's script so that it reads only its
// partition of every partitioned source: each reference to such a source
// ("layer"."name", at the parser's byte offsets, as RedirectToStaging
// rewrites writes) becomes the subquery
//
//	(SELECT * FROM "layer"."name" WHERE "key" = 'partition'::type) AS "name"
//
// which the planner pulls up into an index condition with a constant it
// can estimate. Row security keeps narrowing every source to the same rows
// (cfa_unit_partition, with the same cast), so the rows the script reads do
// not change: the rewrite tells the planner what the guard will let
// through (docs/adr/0140). An empty partition (a dataset unit), or a script
// that does not parse, is returned unchanged.
func NarrowToPartition(script string, sources []catalog.Dataset, partition string) (string, error) {
	if partition == "" {
		return script, nil
	}
	subquery := map[string]string{} // by the quoted name, as codegen spells it
	for _, s := range sources {
		if s.PartitionKey == "" {
			continue
		}
		pt, err := codegen.PostgresType(columnType(s, s.PartitionKey))
		if err != nil {
			return "", fmt.Errorf("narrow script to partition %s: source %s: %w", partition, s.Name, err)
		}
		subquery[Table(s)] = "(SELECT * FROM " + Table(s) + " WHERE " + q(s.PartitionKey) + " = " + literal(partition) + "::" + pt + ")"
	}
	if len(subquery) == 0 {
		return script, nil
	}
	reads, err := sourceReads(script, subquery)
	if err != nil {
		return script, nil // the database reports what does not parse, as it did before
	}
	slices.SortFunc(reads, func(a, b *pg.RangeVar) int { return int(b.GetLocation() - a.GetLocation()) })
	out := script
	for _, r := range reads {
		name, at := Table(catalog.Dataset{Layer: r.GetSchemaname(), Name: r.GetRelname()}), int(r.GetLocation())
		if at < 0 || !strings.HasPrefix(out[at:], name) {
			return "", fmt.Errorf("narrow script to partition %s: the read at byte %d is not spelled %s: regenerate the script with codegen.Postgres", partition, at, name)
		}
		with := subquery[name]
		if r.GetAlias() == nil { // Postgres 15 wants an alias on a subquery; the table's name keeps its columns' qualifier
			with += " AS " + q(r.GetRelname())
		}
		out = out[:at] + with + out[at+len(name):]
	}
	// The rewrite must parse, and read each source only through a subquery.
	again, err := sourceReads(out, subquery)
	if err != nil || len(again) != len(reads) {
		return "", fmt.Errorf("narrow script to partition %s: rewritten script does not parse back (%v)", partition, err)
	}
	return out, nil
}

// sourceReads parses script and returns every reference to one of the
// named tables (quoted "layer"."name"), anywhere in any statement.
func sourceReads(script string, names map[string]string) ([]*pg.RangeVar, error) {
	tree, err := pg.Parse(script)
	if err != nil {
		return nil, fmt.Errorf("parse script: %w", err)
	}
	var out []*pg.RangeVar
	for _, raw := range tree.GetStmts() {
		visitNodes(raw.ProtoReflect(), func(m protoreflect.Message) {
			rv, ok := m.Interface().(*pg.RangeVar)
			if !ok || rv.GetCatalogname() != "" {
				return
			}
			if _, ok := names[Table(catalog.Dataset{Layer: rv.GetSchemaname(), Name: rv.GetRelname()})]; ok {
				out = append(out, rv)
			}
		})
	}
	return out, nil
}

// visitNodes calls f on every message of a parse tree.
func visitNodes(m protoreflect.Message, f func(protoreflect.Message)) {
	f(m)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Kind() != protoreflect.MessageKind:
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				visitNodes(v.List().Get(i).Message(), f)
			}
		default:
			visitNodes(v.Message(), f)
		}
		return true
	})
}
