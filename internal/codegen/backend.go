package codegen

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/planner"
)

// Backend turns an execution plan into an artifact for one engine.
type Backend interface {
	// Name is the backend's stable name, recorded in the Artifact and audit.
	Name() string
	// Generate renders the plan. Identical inputs give identical bytes (I8).
	Generate(plan planner.ExecutionPlan, cat *catalog.Catalog) (Artifact, error)
	// ForbiddenOperations are the statements, functions and settings the
	// backend never emits and static validation must reject, sorted.
	ForbiddenOperations() []string
}

// Artifact is the generated code of one plan.
type Artifact struct {
	Backend  string `json:"backend"`
	PlanHash string `json:"plan_hash"`
	Files    []File `json:"files"` // sorted by Path
	// Hash is the hex SHA-256 over the files' lengths, paths and contents.
	Hash string `json:"hash"`
}

// File is one generated file.
type File struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// Errors a caller can branch on.
var (
	// ErrInvalidPlan: the plan does not match the catalog or its own hash.
	ErrInvalidPlan = errors.New("invalid plan for code generation")
	// ErrUnknownColumn: a plan column is not in the catalog or the step's input.
	ErrUnknownColumn = errors.New("unknown column")
	// ErrUnsupported: the plan uses something the backend cannot render.
	ErrUnsupported = errors.New("unsupported by backend")
)

func newArtifact(backend, planHash string, files []File) Artifact {
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	h := sha256.New()
	for _, f := range files {
		// Length-prefixed so no two file sets encode alike.
		h.Write([]byte(strconv.Itoa(len(f.Path)) + ":" + f.Path + strconv.Itoa(len(f.Content)) + ":"))
		h.Write([]byte(f.Content))
	}
	return Artifact{Backend: backend, PlanHash: planHash, Files: files, Hash: hex.EncodeToString(h.Sum(nil))}
}

// identRE is the only shape of identifier a backend emits; the catalog's own
// validation allows no other, so anything else is a tampered plan.
var (
	identRE   = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	stepIDRE  = regexp.MustCompile(`^[0-9]{2}_[a-z]+_[a-z0-9_]{1,50}$`)
	hexRE     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	versionRE = regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)
)

// schemas maps a catalog layer to the Postgres schema holding its tables.
var schemas = []string{"bronze", "gold", "silver", "staging"}

// scope is what a generator may reference: the plan's steps by ID with their
// output columns, checked once against the catalog before any text is built.
type scope struct {
	plan  planner.ExecutionPlan
	cat   *catalog.Catalog
	steps map[string]planner.Step
}

// validate checks the plan's hash and every identifier and literal in it
// against the catalog and the steps' inputs, so rendering can trust them.
func validate(plan planner.ExecutionPlan, cat *catalog.Catalog) (*scope, error) {
	if cat == nil {
		return nil, fmt.Errorf("%w: no catalog given", ErrInvalidPlan)
	}
	want, err := planner.HashPlan(plan)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPlan, err)
	}
	if plan.Hash != want {
		return nil, fmt.Errorf("%w: plan hash %q does not match its content (%s): the plan was edited after planning; plan again", ErrInvalidPlan, plan.Hash, want)
	}
	if !hexRE.MatchString(plan.SignatureHash) || !versionRE.MatchString(plan.CatalogSnapshotVersion) {
		return nil, fmt.Errorf("%w: signature hash %q or catalog version %q is malformed", ErrInvalidPlan, plan.SignatureHash, plan.CatalogSnapshotVersion)
	}
	if plan.CatalogSnapshotVersion != cat.SnapshotVersion {
		return nil, fmt.Errorf("%w: plan was made against %s, catalog is %s: plan again", ErrInvalidPlan, plan.CatalogSnapshotVersion, cat.SnapshotVersion)
	}
	// Enums are written into comments, where a newline would end the comment
	// and dbt would still render Jinja: only the closed values pass.
	if !plan.ConsistencyUnit.Valid() {
		return nil, fmt.Errorf("%w: consistency unit %q is not one of %v", ErrInvalidPlan, plan.ConsistencyUnit, planner.ConsistencyUnits)
	}
	sc := &scope{plan: plan, cat: cat, steps: make(map[string]planner.Step, len(plan.Steps))}
	loads := 0
	for _, s := range plan.Steps {
		if !stepIDRE.MatchString(s.ID) {
			return nil, fmt.Errorf("%w: step ID %q", ErrInvalidPlan, s.ID)
		}
		switch s.Idempotence {
		case planner.MergeWithDeterministicKey, planner.PartitionOverwriteSafe:
			if plan.Read() {
				return nil, fmt.Errorf("%w: step %s of a read declares %s", ErrInvalidPlan, s.ID, s.Idempotence)
			}
		case planner.ReadOnly:
			if !plan.Read() {
				return nil, fmt.Errorf("%w: step %s declares %s in a plan that writes", ErrInvalidPlan, s.ID, s.Idempotence)
			}
		case planner.AppendWithoutDedup:
			return nil, fmt.Errorf("%w: step %s declares %s (append is never generated)", ErrUnsupported, s.ID, s.Idempotence)
		default:
			return nil, fmt.Errorf("%w: step %s declares idempotence %q", ErrInvalidPlan, s.ID, s.Idempotence)
		}
		for _, c := range s.Columns {
			if !identRE.MatchString(c.Name) {
				return nil, fmt.Errorf("%w: step %s column %q is not a plain identifier", ErrUnknownColumn, s.ID, c.Name)
			}
		}
		if err := sc.validateStep(s); err != nil {
			return nil, fmt.Errorf("step %s: %w", s.ID, err)
		}
		if s.Kind == planner.KindLoad {
			loads++
		}
		sc.steps[s.ID] = s
	}
	if loads != 1 && (loads != 0 || !plan.PublishOnly() && !plan.Read()) {
		return nil, fmt.Errorf("%w: %d load steps: a plan writes one target, is one publish step (docs/adr/0073) or a read (docs/adr/0132)", ErrInvalidPlan, loads)
	}
	return sc, nil
}

func (sc *scope) dataset(name string) (catalog.Dataset, error) {
	d, ok := sc.cat.Get(name)
	if !ok {
		return catalog.Dataset{}, fmt.Errorf("%w: dataset %q is not in catalog %s", ErrInvalidPlan, name, sc.cat.SnapshotVersion)
	}
	if !slices.Contains(schemas, d.Layer) || !identRE.MatchString(d.Name) {
		return catalog.Dataset{}, fmt.Errorf("%w: dataset %q in layer %q has no schema: use one of %s", ErrUnsupported, d.Name, d.Layer, strings.Join(schemas, ", "))
	}
	return d, nil
}

func (sc *scope) input(s planner.Step, i int) (planner.Step, error) {
	if i >= len(s.Inputs) {
		return planner.Step{}, fmt.Errorf("%w: missing input %d", ErrInvalidPlan, i)
	}
	in, ok := sc.steps[s.Inputs[i]]
	if !ok {
		return planner.Step{}, fmt.Errorf("%w: input %q is not an earlier step", ErrInvalidPlan, s.Inputs[i])
	}
	return in, nil
}

func has(cols []planner.Column, name string) bool {
	return slices.ContainsFunc(cols, func(c planner.Column) bool { return c.Name == name })
}

func needAll(where string, cols []planner.Column, names ...string) error {
	for _, n := range names {
		if !has(cols, n) {
			return fmt.Errorf("%w: %q is not a column of %s", ErrUnknownColumn, n, where)
		}
	}
	return nil
}

func (sc *scope) validateStep(s planner.Step) error {
	switch s.Kind {
	case planner.KindExtract:
		d, err := sc.dataset(s.Dataset)
		if err != nil {
			return err
		}
		for _, c := range s.Columns {
			if !d.HasColumn(c.Name) {
				return fmt.Errorf("%w: %q is not a column of %s in the catalog", ErrUnknownColumn, c.Name, d.Name)
			}
		}
		if f := s.Params.Filter; f != nil {
			if !d.HasColumn(f.Column) {
				return fmt.Errorf("%w: filter column %q is not a column of %s", ErrUnknownColumn, f.Column, d.Name)
			}
			if err := validWindow(f); err != nil {
				return err
			}
		}
	case planner.KindAnonymize:
		in, err := sc.input(s, 0)
		if err != nil {
			return err
		}
		for _, h := range s.Params.Hash {
			if h.As != h.Column+"_hash" {
				return fmt.Errorf("%w: hash of %q must be named %q, not %q", ErrInvalidPlan, h.Column, h.Column+"_hash", h.As)
			}
			if err := needAll(in.ID, in.Columns, h.Column); err != nil {
				return err
			}
		}
		for _, c := range s.Columns {
			if !has(in.Columns, c.Name) && !slices.ContainsFunc(s.Params.Hash, func(h planner.HashedColumn) bool { return h.As == c.Name }) {
				return fmt.Errorf("%w: %q is neither in %s nor a hashed column", ErrUnknownColumn, c.Name, in.ID)
			}
		}
	case planner.KindJoin:
		j := s.Params.Join
		if j == nil || len(s.Inputs) != 2 || s.Inputs[0] != j.Left || s.Inputs[1] != j.Right {
			return fmt.Errorf("%w: join needs params.join with its two inputs", ErrInvalidPlan)
		}
		if j.Strategy != planner.JoinBroadcast && j.Strategy != planner.JoinHash {
			return fmt.Errorf("%w: join strategy %q", ErrInvalidPlan, j.Strategy)
		}
		left, lerr := sc.input(s, 0)
		right, rerr := sc.input(s, 1)
		if err := errors.Join(lerr, rerr); err != nil {
			return err
		}
		if err := errors.Join(needAll(left.ID, left.Columns, j.LeftColumn), needAll(right.ID, right.Columns, j.RightColumn)); err != nil {
			return err
		}
		for _, c := range s.Columns {
			if !has(left.Columns, c.Name) && !has(right.Columns, c.Name) {
				return fmt.Errorf("%w: %q comes from neither %s nor %s", ErrUnknownColumn, c.Name, left.ID, right.ID)
			}
		}
	case planner.KindDedupe:
		in, err := sc.input(s, 0)
		if err != nil {
			return err
		}
		if len(s.Params.Key) == 0 {
			return fmt.Errorf("%w: dedupe without a key", ErrInvalidPlan)
		}
		names := append(planner.Names(s.Columns), s.Params.Key...)
		for _, o := range s.Params.OrderBy {
			names = append(names, o.Column)
		}
		return needAll(in.ID, in.Columns, names...)
	case planner.KindAggregate:
		in, err := sc.input(s, 0)
		if err != nil {
			return err
		}
		if err := needAll(in.ID, in.Columns, s.Params.GroupBy...); err != nil {
			return err
		}
		for _, m := range s.Params.Measures {
			switch {
			case m.Func == "sum" && m.Column != "":
				if err := needAll(in.ID, in.Columns, m.Column); err != nil {
					return err
				}
			case m.Func == "count" && m.Column == "":
			default:
				return fmt.Errorf("%w: measure %s(%s)", ErrUnsupported, m.Func, m.Column)
			}
			if !identRE.MatchString(m.As) {
				return fmt.Errorf("%w: measure alias %q", ErrUnknownColumn, m.As)
			}
		}
	case planner.KindLoad:
		l := s.Params.Load
		if l == nil {
			return fmt.Errorf("%w: load without params.load", ErrInvalidPlan)
		}
		d, err := sc.dataset(l.Target)
		if err != nil {
			return err
		}
		// Both are rendered (the schema, dbt's unique_key): the catalog's only.
		if l.Layer != d.Layer || l.PartitionKey != d.PartitionKey {
			return fmt.Errorf("%w: load into %s declares layer %q and partition key %q, the catalog %q and %q",
				ErrInvalidPlan, d.Name, l.Layer, l.PartitionKey, d.Layer, d.PartitionKey)
		}
		in, err := sc.input(s, 0)
		if err != nil {
			return err
		}
		for _, c := range s.Columns {
			if !d.HasColumn(c.Name) {
				return fmt.Errorf("%w: %q is not a column of %s in the catalog", ErrUnknownColumn, c.Name, d.Name)
			}
		}
		if err := errors.Join(needAll(in.ID, in.Columns, planner.Names(s.Columns)...), needAll(s.ID, s.Columns, s.Params.Key...)); err != nil {
			return err
		}
		if len(s.Params.Key) == 0 {
			return fmt.Errorf("%w: load without a deterministic key", ErrInvalidPlan)
		}
		switch l.Mode {
		case planner.LoadMerge:
		case planner.LoadPartitionOverwrite:
			if l.Window == nil || !d.HasColumn(l.Window.Column) || l.Window.Column != d.PartitionKey {
				return fmt.Errorf("%w: partition overwrite needs a window on %s's partition key", ErrInvalidPlan, d.Name)
			}
			if err := validWindow(l.Window); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: load mode %q (append is never generated)", ErrUnsupported, l.Mode)
		}
	case planner.KindQuery:
		return sc.validateQuery(s)
	case planner.KindPublish:
		if s.Params.Publish != s.Dataset || s.Dataset != sc.plan.Target {
			return fmt.Errorf("%w: publish of %q (dataset %q) is not the plan's target %q", ErrInvalidPlan, s.Params.Publish, s.Dataset, sc.plan.Target)
		}
		if _, err := sc.dataset(s.Dataset); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: step kind %q", ErrUnsupported, s.Kind)
	}
	return nil
}

func validWindow(w *planner.Window) error {
	if w.From == "" && w.To == "" {
		return fmt.Errorf("%w: window on %q has no bound", ErrInvalidPlan, w.Column)
	}
	for _, d := range []string{w.From, w.To} {
		if d == "" {
			continue
		}
		if _, err := planner.ParseDate(d); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidPlan, err)
		}
	}
	return nil
}

// PostgresType maps a catalog type to the Postgres type of its column.
func PostgresType(t string) (string, error) {
	switch {
	case t == "string":
		return "text", nil
	case t == "date", t == "timestamp", t == "bigint", t == "smallint", t == "boolean":
		return t, nil
	case t == "int":
		return "integer", nil
	case t == "double":
		return "double precision", nil
	case t == "decimal":
		return "numeric", nil
	case strings.HasPrefix(t, "decimal("):
		p, s, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(t, "decimal("), ")"), ",")
		if _, err := strconv.Atoi(p); err == nil && ok {
			if _, err := strconv.Atoi(s); err == nil {
				return "numeric(" + p + "," + s + ")", nil
			}
		}
	case strings.HasPrefix(t, "array<"), strings.HasPrefix(t, "struct<"), strings.HasPrefix(t, "map<"):
		return "jsonb", nil
	}
	return "", fmt.Errorf("%w: catalog type %q has no Postgres type", ErrUnsupported, t)
}
