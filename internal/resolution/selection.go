package resolution

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/signature"
)

// resolveSelection resolves the draft's column words against the columns
// of the datasets in play (the sources, or the targets when nothing is
// read) and fills sig.Selection (docs/adr/0130, 0131). It returns the
// options of every column word several columns fit, or the reason the
// intent cannot be resolved: a word that names no column of the datasets
// in play is never dropped.
func resolveSelection(sig *signature.Signature, d *draft, cat *catalog.Catalog) ([]option, string) {
	get := func(name string) catalog.Dataset { ds, _ := cat.Get(name); return ds }
	inPlay := d.sources
	if len(inPlay) == 0 {
		inPlay = d.targets
	}
	datasets := make([]catalog.Dataset, 0, len(inPlay))
	for _, n := range inPlay {
		datasets = append(datasets, get(n))
	}
	aggregating := slices.Contains(d.ops, signature.OpAggregate)
	countRows := d.countRows
	var (
		sel     signature.Selection
		opts    []option
		unknown []string
	)
	for i, r := range d.cols {
		var cands []catalog.ColumnMatch
		if r.dataset != "" {
			if !slices.Contains(sig.DatasetNames(), r.dataset) {
				return nil, fmt.Sprintf("%s.%s names dataset %s, which the intent neither reads nor writes; name a column of %s", r.dataset, r.term, r.dataset, strings.Join(inPlay, ", "))
			}
			ds := get(r.dataset)
			cands = catalog.MatchColumns([]catalog.Dataset{ds}, r.term)
			if len(cands) == 0 || cands[0].Kind != catalog.MatchExact && cands[0].Kind != catalog.MatchAlias {
				return nil, fmt.Sprintf("%q is not a column of %s; its columns are %s", r.term, ds.Name, strings.Join(ds.ColumnNames(), ", "))
			}
		} else {
			cands = catalog.MatchColumns(datasets, r.term)
		}
		if r.inMention {
			cands = slices.DeleteFunc(cands, func(m catalog.ColumnMatch) bool {
				return m.Kind != catalog.MatchExact && m.Kind != catalog.MatchAlias
			})
			if len(cands) == 0 {
				// The words named the dataset: "revenue by state" of
				// gold_faturamento_uf; "count documentos fiscais" counts its rows.
				countRows = countRows || r.fn == signature.FuncCount && !r.defaulted
				continue
			}
		}
		if len(cands) == 0 {
			if !slices.Contains(unknown, r.term) {
				unknown = append(unknown, r.term)
			}
			continue
		}
		switch cands[0].Kind {
		case catalog.MatchAlias:
			d.ev.colAliases++
		case catalog.MatchTypo, catalog.MatchPart:
			if len(cands) == 1 {
				d.ev.colTypos++
			}
		}
		pick := 0
		if r.pick > 0 && r.pick <= len(cands) {
			pick = r.pick - 1
		}
		if len(cands) > 1 {
			d.ev.colAmbiguous++
			sameDataset := !slices.ContainsFunc(cands, func(m catalog.ColumnMatch) bool { return m.Dataset != cands[0].Dataset })
			for k, m := range cands {
				name := m.Dataset + "_" + m.Column
				if sameDataset {
					name = m.Column
				}
				opts = append(opts, option{label: slotLabel(r, cat, m) + "_" + name, apply: func(x draft) draft {
					x.cols = slices.Clone(x.cols)
					x.cols[i].pick = k + 1
					return x
				}})
			}
		}
		m := cands[pick]
		col, _ := get(m.Dataset).Column(m.Column)
		ref := m.Ref()
		switch r.kind {
		case slotMeasure:
			fn := r.fn
			if r.defaulted {
				if !col.Numeric() {
					sel.GroupBy = append(sel.GroupBy, ref) // "aggregate uf": the distinct values
					continue
				}
				fn = signature.FuncSum
			}
			if (fn == signature.FuncSum || fn == signature.FuncAvg) && !col.Numeric() {
				return nil, fmt.Sprintf("%s of %s: the column is %s, not a number; count it (\"count distinct %s\") or group by it (\"by %s\")", fn, ref, col.Type, m.Column, m.Column)
			}
			sel.Measures = append(sel.Measures, signature.Measure{Function: fn, Column: ref})
		case slotGroup:
			sel.GroupBy = append(sel.GroupBy, ref)
		case slotProject:
			switch {
			case !aggregating:
				sel.Columns = append(sel.Columns, ref)
			case col.Numeric():
				sel.Measures = append(sel.Measures, signature.Measure{Function: signature.FuncSum, Column: ref})
			default:
				sel.GroupBy = append(sel.GroupBy, ref)
			}
		case slotFilter:
			if reason := checkValue(col, ref, r); reason != "" {
				return nil, reason
			}
			if narrowed, reason := filterOnWindow(sig, m, col, r); reason != "" {
				return nil, reason
			} else if narrowed {
				continue
			}
			sel.Filters = append(sel.Filters, signature.RowFilter{Column: ref, Operator: r.op, Value: r.value})
		}
	}
	if len(unknown) > 0 {
		return nil, unknownColumns(unknown, datasets, cat)
	}
	if countRows {
		sel.Measures = append(sel.Measures, signature.Measure{Function: signature.FuncCount})
	}
	if !sel.Empty() {
		sig.Selection = &sel
	}
	return opts, ""
}

// slotLabel names a column reading in a competing interpretation:
// "by", the measure's function, "where" or "show".
func slotLabel(r colRef, cat *catalog.Catalog, m catalog.ColumnMatch) string {
	switch r.kind {
	case slotGroup:
		return "by"
	case slotFilter:
		return "where"
	case slotProject:
		return "show"
	}
	if r.defaulted {
		ds, _ := cat.Get(m.Dataset)
		if col, _ := ds.Column(m.Column); !col.Numeric() {
			return "by"
		}
		return signature.FuncSum
	}
	return r.fn
}

// unknownColumns is the reason for words that name no column of the
// datasets in play: the words, the columns that exist, and where the
// catalog has a column by that name.
func unknownColumns(words []string, datasets []catalog.Dataset, cat *catalog.Catalog) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = strconv.Quote(w)
	}
	names := make([]string, len(datasets))
	for i, ds := range datasets {
		names[i] = ds.Name
	}
	var b strings.Builder
	b.WriteString(strings.Join(quoted, " and "))
	if len(words) == 1 {
		b.WriteString(" is not a column of ")
	} else {
		b.WriteString(" are not columns of ")
	}
	b.WriteString(strings.Join(names, " or "))
	if len(datasets) == 1 {
		fmt.Fprintf(&b, "; its columns are %s", strings.Join(datasets[0].ColumnNames(), ", "))
	} else {
		parts := make([]string, len(datasets))
		for i, ds := range datasets {
			parts[i] = ds.Name + ": " + strings.Join(ds.ColumnNames(), ", ")
		}
		fmt.Fprintf(&b, "; their columns are %s", strings.Join(parts, "; "))
	}
	for _, w := range words {
		var where []string
		for _, m := range catalog.MatchColumns(cat.Datasets, w) {
			if m.Kind == catalog.MatchExact || m.Kind == catalog.MatchAlias {
				where = append(where, m.Ref())
			}
		}
		if len(where) > 0 {
			fmt.Fprintf(&b, " (%q is %s elsewhere in the catalog: read that dataset instead)", w, strings.Join(where, ", "))
		}
	}
	b.WriteString("; name one of the columns, or drop the word")
	return b.String()
}

// checkValue refuses a filter value the column cannot hold.
func checkValue(col catalog.Column, ref string, r colRef) string {
	v := strings.TrimSpace(r.value)
	switch {
	case v == "":
		return fmt.Sprintf("the filter on %s has an empty value; write e.g. \"where %s = SP\"", ref, col.Name)
	case col.Numeric():
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Sprintf("%s is %s but the filter compares it with %q; compare it with a number, e.g. \"%s > 1000\"", ref, col.Type, r.value, col.Name)
		}
	case col.Temporal():
		if !isISODate(v) {
			return fmt.Sprintf("%s is a %s but the filter compares it with %q; write the date as YYYY-MM-DD", ref, col.Type, r.value)
		}
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return fmt.Sprintf("%q is not a calendar date; write dates as YYYY-MM-DD", v)
		}
	}
	return ""
}

// filterOnWindow turns a comparison of the temporal filter's column with a
// date into the window itself ("processing_date >= 2026-01-01" is "since
// 2026-01-01"), so the FinOps Guard sees the bound. It reports whether
// it did; a relative window (last N days) keeps the comparison as a
// filter.
func filterOnWindow(sig *signature.Signature, m catalog.ColumnMatch, col catalog.Column, r colRef) (bool, string) {
	tf := sig.Constraints.TemporalFilter
	column := temporalColumn(sig.Datasets)
	if tf != nil {
		column = tf.Column
	}
	owner := ""
	for _, ds := range sig.Datasets {
		if ds.PartitionKey == column && ds.Name == m.Dataset {
			owner = ds.Name
		}
	}
	if column == "" || m.Column != column || owner == "" || col.Type != "date" || !isISODate(r.value) || r.op == "!=" || tf != nil && tf.LastDays > 0 {
		return false, ""
	}
	day, _ := time.Parse(time.DateOnly, r.value)
	next := day.AddDate(0, 0, 1).Format(time.DateOnly)
	nt := signature.TemporalFilter{Column: column}
	if tf != nil {
		nt = *tf
	}
	tighten := func(from, to string) {
		if from != "" && (nt.From == "" || from > nt.From) {
			nt.From = from
		}
		if to != "" && (nt.To == "" || to < nt.To) {
			nt.To = to
		}
	}
	switch r.op {
	case ">=":
		tighten(r.value, "")
	case ">":
		tighten(next, "")
	case "<":
		tighten("", r.value)
	case "<=":
		tighten("", next)
	case "=":
		tighten(r.value, next)
	}
	if nt.From != "" && nt.To != "" && nt.From >= nt.To {
		return false, fmt.Sprintf("the date range [%s, %s) is empty; check the comparisons on %s", nt.From, nt.To, column)
	}
	sig.Constraints.TemporalFilter = &nt
	return true, ""
}
