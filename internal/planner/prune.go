package planner

import (
	"slices"
)

// prune walks the DAG backwards and keeps in each step only the columns a
// later step reads, so an extract selects what the load needs and a raw PII
// column nobody uses (nfe.cpf, clientes.email) is never read at all.
func prune(steps []Step) {
	byID := make(map[string]int, len(steps))
	for i, s := range steps {
		byID[s.ID] = i
	}
	need := make(map[string]map[string]bool, len(steps))
	want := func(id string, names ...string) {
		if need[id] == nil {
			need[id] = map[string]bool{}
		}
		for _, n := range names {
			need[id][n] = true
		}
	}
	keep := func(s *Step, extra ...string) {
		s.Columns = slices.DeleteFunc(slices.Clone(s.Columns), func(c Column) bool {
			return !need[s.ID][c.Name] && !slices.Contains(extra, c.Name)
		})
	}
	for i := len(steps) - 1; i >= 0; i-- {
		s := &steps[i]
		switch s.Kind {
		case KindQuery:
			want(s.Inputs[0], s.Params.Query.inputs()...)
		case KindLoad:
			want(s.Inputs[0], Names(s.Columns)...)
		case KindAggregate:
			want(s.Inputs[0], s.Params.GroupBy...)
			for _, m := range s.Params.Measures {
				if m.Column != "" {
					want(s.Inputs[0], m.Column)
				}
			}
		case KindDedupe:
			keep(s, s.Params.Key...)
			s.Params.OrderBy = slices.DeleteFunc(s.Params.OrderBy, func(o Order) bool { return !hasName(s.Columns, o.Column) })
			want(s.Inputs[0], Names(s.Columns)...)
		case KindJoin:
			keep(s)
			j := s.Params.Join
			left := steps[byID[j.Left]]
			want(j.Left, j.LeftColumn)
			want(j.Right, j.RightColumn)
			for _, c := range s.Columns {
				if hasName(left.Columns, c.Name) {
					want(j.Left, c.Name)
				} else {
					want(j.Right, c.Name)
				}
			}
		case KindAnonymize:
			keep(s)
			var hashed []HashedColumn
			for _, h := range s.Params.Hash {
				if hasName(s.Columns, h.As) {
					hashed = append(hashed, h)
				} else {
					s.Params.Drop = append(s.Params.Drop, h.Column)
				}
			}
			s.Params.Hash = hashed
			slices.Sort(s.Params.Drop)
			for _, c := range s.Columns {
				if h := slices.IndexFunc(hashed, func(h HashedColumn) bool { return h.As == c.Name }); h >= 0 {
					want(s.Inputs[0], hashed[h].Column)
				} else {
					want(s.Inputs[0], c.Name)
				}
			}
		case KindExtract:
			if len(need[s.ID]) == 0 && s.Params.Filter != nil {
				// A read's count(*) needs no column: the extract still
				// selects the one its window filters on.
				want(s.ID, s.Params.Filter.Column)
			}
			keep(s)
		}
		if !subset(s.Params.Unique, Names(s.Columns)) {
			s.Params.Unique = nil
		}
	}
}
