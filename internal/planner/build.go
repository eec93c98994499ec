package planner

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/signature"
)

// Layers a plan may write; codegen maps each to a schema of the same name.
var writableLayers = []string{"staging", signature.LayerBronze, signature.LayerSilver, signature.LayerGold}

// Plan builds the governed DAG for an approved signature: it fills the step
// templates in a fixed order (extract, anonymize, join, dedupe, aggregate,
// load, publish), checks the result against every constraint of the
// signature (Verify) and hashes it. The same inputs give the same bytes.
func Plan(sig signature.Signature, cat *catalog.Catalog, opts Options) (ExecutionPlan, error) {
	if cat == nil {
		return ExecutionPlan{}, fmt.Errorf("plan %s: %w: no catalog given", sig.Intent, ErrInvalidOptions)
	}
	sig = sig.Canonical()
	sigHash, err := sig.Hash()
	if err != nil {
		return ExecutionPlan{}, fmt.Errorf("plan %s: hash signature: %w", sig.Intent, err)
	}
	if v := sig.ExecutionContext.CatalogSnapshotVersion; v != "" && v != cat.SnapshotVersion {
		return ExecutionPlan{}, fmt.Errorf("plan %s: %w: signature was made against %s, catalog is %s: replan the intent against the current catalog",
			sig.Intent, ErrCatalogMismatch, v, cat.SnapshotVersion)
	}
	// The signature carries execution_mode, time_window and
	// cross_dataset_atomic (docs/adr/0137, 0138).
	if opts, err = opts.withSignature(sig); err != nil {
		return ExecutionPlan{}, fmt.Errorf("plan %s: %w", sig.Intent, err)
	}
	opts, err = opts.normalize()
	if err != nil {
		return ExecutionPlan{}, fmt.Errorf("plan %s: %w", sig.Intent, err)
	}
	b := &builder{sig: sig, cat: cat, opts: opts, read: IsRead(sig)}
	build := b.build
	if b.read {
		build = b.buildRead
	}
	if opts.CrossDatasetAtomic && len(sig.Targets()) > 1 {
		build = func() (ExecutionPlan, error) { return planAtomic(sig, sigHash, cat, opts) }
	}
	p, err := build()
	if err != nil {
		return ExecutionPlan{}, fmt.Errorf("plan %s: %w", sig.Intent, err)
	}
	p.SignatureHash = sigHash
	if err := Verify(p, sig, cat); err != nil {
		return ExecutionPlan{}, fmt.Errorf("plan %s: %w", sig.Intent, err)
	}
	if p.Hash, err = HashPlan(p); err != nil {
		return ExecutionPlan{}, fmt.Errorf("plan %s: %w", sig.Intent, err)
	}
	return p, nil
}

// HashPlan returns the hex SHA-256 of the plan's JSON with Hash cleared.
// The plan holds only structs and slices, so the JSON is canonical.
func HashPlan(p ExecutionPlan) (string, error) {
	p.Hash = ""
	raw, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode plan: %w", err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

type builder struct {
	sig  signature.Signature
	cat  *catalog.Catalog
	opts Options
	read bool // a read: sources and no target (docs/adr/0132)

	sources []catalog.Dataset // base (largest) first, then by name
	target  catalog.Dataset
	window  *Window
	steps   []Step
}

// head is the running result a template reads: the step, its columns and
// the key its rows are proven unique on (nil when unknown).
type head struct {
	id     string
	cols   []Column
	unique []string
}

func (b *builder) build() (ExecutionPlan, error) {
	if err := b.resolveDatasets(); err != nil {
		return ExecutionPlan{}, err
	}
	if err := b.checkModes(); err != nil {
		return ExecutionPlan{}, err
	}
	if len(b.sources) == 0 {
		return b.publishOnly()
	}
	if err := b.resolveWindow(); err != nil {
		return ExecutionPlan{}, err
	}
	mode, strategy, err := b.loadMode()
	if err != nil {
		return ExecutionPlan{}, err
	}
	key := b.deterministicKey()
	unit, rule, err := SelectConsistencyUnit(b.opts, b.target.PartitionKey != "")
	if err != nil {
		return ExecutionPlan{}, err
	}
	var windows *TimeWindows
	if unit == UnitTimeWindow {
		if windows, err = b.timeWindows(mode); err != nil {
			return ExecutionPlan{}, err
		}
	}
	anon, err := b.anonymizeColumns()
	if err != nil {
		return ExecutionPlan{}, err
	}

	cur, err := b.inputs(anon)
	if err != nil {
		return ExecutionPlan{}, err
	}
	aggregate := b.sig.HasOp(signature.OpAggregate)
	if b.sig.HasOp(signature.OpDedupe) {
		dk, err := b.dedupeKey(key, aggregate)
		if err != nil {
			return ExecutionPlan{}, err
		}
		if cur, err = b.dedupe(cur, dk, ""); err != nil {
			return ExecutionPlan{}, err
		}
	}
	if aggregate {
		if cur, err = b.aggregate(cur); err != nil {
			return ExecutionPlan{}, err
		}
	}
	if b.sig.Constraints.MergeKey != "" && (cur.unique == nil || !subset(cur.unique, key)) {
		// A write on a merge key (a MERGE, or an overwrite of a governed
		// table whose primary key it is) needs one row per key; the catalog
		// could not prove it, so the template adds the dedupe. The key holds
		// the target's declared identity (mergeKeyIsAKey): it drops only rows
		// that repeat an identity. Without a merge key nothing matches rows,
		// and a dedupe on the partition key alone would keep one row per day.
		if cur, err = b.dedupe(cur, key, "rows not proven unique on the load key"); err != nil {
			return ExecutionPlan{}, err
		}
	}
	loadID, err := b.load(cur, mode, key)
	if err != nil {
		return ExecutionPlan{}, err
	}
	if b.sig.HasOp(signature.OpPublish) {
		if slices.Contains(b.sig.Constraints.PublishBlocked, b.target.Name) {
			return ExecutionPlan{}, violation(ConstraintPublishBlocked, "drop publish from the intent until the registry unblocks the dataset",
				"%s must not be published (I7)", b.target.Name)
		}
		b.add(Step{Kind: KindPublish, Inputs: []string{loadID}, Dataset: b.target.Name,
			Params: Params{Publish: b.target.Name}, Idempotence: MergeWithDeterministicKey})
	}
	prune(b.steps)
	for i := range b.steps {
		if b.steps[i].Idempotence == "" {
			b.steps[i].Idempotence = strategy
		}
	}

	p := ExecutionPlan{
		CatalogSnapshotVersion: b.cat.SnapshotVersion,
		Intent:                 b.sig.Intent,
		Target:                 b.target.Name,
		TargetLayer:            b.target.Layer,
		Strategy:               strategy,
		ConsistencyUnit:        unit,
		ConsistencyRule:        rule,
		Window:                 b.window,
		Steps:                  b.steps,
		TimeWindows:            windows,
	}
	ls, _ := p.LoadStep()
	p.Contract.ExpectedColumns = Names(ls.Columns)
	p.Contract.ForbiddenColumns = []string{}
	if b.sig.Constraints.NoPIIRaw {
		p.Contract.ForbiddenColumns = b.rawPIINames()
	}
	return p, nil
}

func (b *builder) add(s Step) string {
	name := s.Dataset
	if s.Kind == KindJoin {
		name = s.Params.Join.LeftDataset + "_" + s.Params.Join.RightDataset
	}
	s.ID = fmt.Sprintf("%02d_%s_%s", len(b.steps)+1, s.Kind, name)
	b.steps = append(b.steps, s)
	return s.ID
}

func (b *builder) resolveDatasets() error {
	var targets []signature.Dataset
	for _, d := range b.sig.Datasets {
		cd, ok := b.cat.Get(d.Name)
		if !ok {
			return fmt.Errorf("%w: %s is not in catalog %s: resolve the intent again", ErrUnknownDataset, d.Name, b.cat.SnapshotVersion)
		}
		switch d.Role {
		case signature.RoleSource:
			b.sources = append(b.sources, cd)
		case signature.RoleTarget:
			targets = append(targets, d)
			b.target = cd
		default:
			return fmt.Errorf("%w: dataset %s has role %q: use source or target", ErrNoTemplate, d.Name, d.Role)
		}
	}
	if len(targets) > 1 && !b.opts.CrossDatasetAtomic {
		return fmt.Errorf("%w: a plan writes exactly one target, the signature has %d: split the intent, or set cross_dataset_atomic: true to write them all in one transaction (docs/adr/0138)",
			ErrNoTemplate, len(targets))
	}
	// With no source, only the publish-only template applies (docs/adr/0073).
	if len(targets) != 1 || (len(b.sources) == 0 && !b.sig.HasOp(signature.OpPublish)) {
		return fmt.Errorf("%w: a plan reads one or more sources and writes exactly one target (or, reading none, publishes one), the signature has %d sources and %d targets: split the intent",
			ErrNoTemplate, len(b.sources), len(targets))
	}
	if !slices.Contains(writableLayers, b.target.Layer) {
		return fmt.Errorf("%w: target %s is in layer %q: use one of %s", ErrNoTemplate, b.target.Name, b.target.Layer, strings.Join(writableLayers, ", "))
	}
	if dl := b.sig.DestinationLayer(); dl != "" && dl != b.target.Layer {
		return violation(ConstraintTargetLayer, "fix target_layer or pick a target in that layer",
			"signature writes %s but target %s is in layer %s", dl, b.target.Name, b.target.Layer)
	}
	slices.SortFunc(b.sources, func(x, y catalog.Dataset) int {
		if c := cmp.Compare(y.SizeBytes, x.SizeBytes); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
	return nil
}

// resolveWindow turns the signature's temporal filter into absolute dates:
// From/To as given, else last_days as the N days ending on Options.AsOf
// inclusive (docs/adr/0056). Every high_volume source must be bounded by it.
func (b *builder) resolveWindow() error {
	tf := b.sig.Constraints.TemporalFilter
	if tf != nil {
		w := &Window{Column: tf.Column, From: tf.From, To: tf.To}
		switch {
		case tf.From != "" || tf.To != "":
			for _, d := range []string{tf.From, tf.To} {
				if d == "" {
					continue
				}
				if _, err := ParseDate(d); err != nil {
					return fmt.Errorf("%w: temporal_filter: %w", ErrInvalidOptions, err)
				}
			}
			if tf.From != "" && tf.To != "" && tf.From >= tf.To {
				return violation(ConstraintTemporalFilter, "fix the dates: from is inclusive, to exclusive", "window [%s, %s) is empty", tf.From, tf.To)
			}
		case tf.LastDays > 0:
			if b.opts.AsOf == "" {
				return fmt.Errorf("%w: temporal_filter last_days=%d needs Options.AsOf: pass the workflow's date (workflow.Now) as YYYY-MM-DD", ErrInvalidOptions, tf.LastDays)
			}
			asOf, _ := ParseDate(b.opts.AsOf)
			w.From = asOf.AddDate(0, 0, 1-tf.LastDays).Format(dateLayout)
			w.To = asOf.AddDate(0, 0, 1).Format(dateLayout)
		default:
			return violation(ConstraintTemporalFilter, "set from/to or last_days", "filter on %q has no bound", tf.Column)
		}
		if !slices.ContainsFunc(b.sources, func(d catalog.Dataset) bool { return d.PartitionKey == tf.Column }) {
			return violation(ConstraintTemporalFilter, "filter on a source's partition_key",
				"column %q is not the partition key of any source", tf.Column)
		}
		b.window = w
	}
	for _, s := range b.sources {
		if s.Classification != "high_volume" {
			continue
		}
		if b.window == nil || s.PartitionKey == "" || s.PartitionKey != b.window.Column {
			return &ConstraintError{Constraint: ConstraintTemporalFilter, sentinel: ErrUnboundedScan,
				Detail:      fmt.Sprintf("high_volume source %s is read without a filter on its partition key %q", s.Name, s.PartitionKey),
				Remediation: "the Policy Engine must replan with add_temporal_filter before planning"}
		}
	}
	return nil
}

// loadMode picks the write: merge on the signature's merge key, or a
// partition overwrite of the filtered window. Silver and gold writes, and
// any signature with merge_key_required, need the merge key.
func (b *builder) loadMode() (LoadMode, Idempotence, error) {
	c := b.sig.Constraints
	mk := c.MergeKey
	governed := b.target.Layer == signature.LayerSilver || b.target.Layer == signature.LayerGold
	if mk == "" && (c.MergeKeyRequired || governed) {
		return "", "", violation(ConstraintMergeKeyRequired, "the Policy Engine must replan with set_merge_key",
			"write to %s (%s) has no merge key", b.target.Name, b.target.Layer)
	}
	if mk != "" && !b.target.HasColumn(mk) {
		return "", "", fmt.Errorf("%w: merge key %q is not a column of %s: use the catalog's merge_key %q", ErrUnknownColumn, mk, b.target.Name, b.target.MergeKey)
	}
	if err := mergeKeyIsAKey(mk, b.target); err != nil {
		return "", "", err
	}
	overwritable := b.window != nil && b.target.PartitionKey != "" && b.target.PartitionKey == b.window.Column
	switch {
	case b.opts.Strategy == PartitionOverwriteSafe:
		if !overwritable {
			return "", "", violation(ConstraintIdempotency, "filter the sources on the target's partition key, or merge",
				"partition overwrite of %s needs a temporal filter on its partition key %q", b.target.Name, b.target.PartitionKey)
		}
		return LoadPartitionOverwrite, PartitionOverwriteSafe, nil
	case mk != "":
		return LoadMerge, MergeWithDeterministicKey, nil
	case b.opts.Strategy == "" && overwritable:
		return LoadPartitionOverwrite, PartitionOverwriteSafe, nil
	}
	return "", "", &ConstraintError{Constraint: ConstraintIdempotency, sentinel: ErrAppendForbidden,
		Detail:      fmt.Sprintf("write to %s would be a plain append (no merge key, no partition window)", b.target.Name),
		Remediation: "set a merge key, or a temporal filter on the target's partition key"}
}

// deterministicKey is the load's match key: the merge key plus the target's
// partition key, since a row of a partitioned table lives in one partition
// (docs/adr/0057). For an unpartitioned target it is the merge key alone.
func (b *builder) deterministicKey() []string {
	return loadKey(b.sig.Constraints.MergeKey, b.target)
}

// loadKey is the match key of a load into d on merge key mk: mk plus d's
// partition key (docs/adr/0057); the partition key alone without mk.
func loadKey(mk string, d catalog.Dataset) []string {
	var key []string
	if mk != "" {
		key = append(key, mk)
	}
	if pk := d.PartitionKey; pk != "" && pk != mk {
		key = append(key, pk)
	}
	return key
}

// identity is the key a catalog dataset's rows are unique on: the key the
// catalog declares unique (its merge_key, plus the partition key when
// partitioned, docs/adr/0057), on which the data plane builds a governed
// table's primary key. Nil when the catalog declares none.
func identity(d catalog.Dataset) []string {
	if d.MergeKey == "" {
		return nil
	}
	if d.PartitionKey != "" && d.PartitionKey != d.MergeKey {
		return []string{d.MergeKey, d.PartitionKey}
	}
	return []string{d.MergeKey}
}

// mergeKeyIsAKey refuses a merge key the catalog does not declare unique
// for the target (docs/adr/0112): a MERGE on it would update one row with
// another's values, and the dedupe before it would keep one of the rows
// sharing a value, silently dropping the others (merge_key valor_total
// lost 663 of 6,000 documents). A key is accepted when its load key holds
// the target's identity.
func mergeKeyIsAKey(mk string, d catalog.Dataset) error {
	if mk == "" {
		return nil
	}
	key := loadKey(mk, d)
	id := identity(d)
	if len(id) > 0 && subset(id, key) {
		return nil
	}
	declared, fix := "no key (it has no merge_key)", fmt.Sprintf("declare %s's merge_key in the catalog (the column its rows are unique on), then submit again", d.Name)
	if len(id) > 0 {
		declared = "(" + strings.Join(id, ", ") + ")"
		fix = fmt.Sprintf("merge on %q, %s's merge_key in the catalog; if %q is unique in the data, declare it as the merge_key in the catalog first", d.MergeKey, d.Name, mk)
	}
	return &ConstraintError{Constraint: ConstraintMergeKeyUnique, sentinel: ErrMergeKeyNotUnique,
		Detail: fmt.Sprintf("merge key %q is not a key of %s: the catalog declares %s unique on %s, so a MERGE and a dedupe on (%s) would merge or drop distinct rows that share a %s",
			mk, d.Name, d.Name, declared, strings.Join(key, ", "), mk),
		Remediation: fix}
}

// dedupeKey is the key a dedupe the intent asks for keeps one row per:
// always a key the catalog declares unique, never a column set that would
// collapse distinct rows (docs/adr/0112).
func (b *builder) dedupeKey(key []string, aggregate bool) ([]string, error) {
	base := b.sources[0]
	switch {
	case aggregate: // dedupe the rows before they are counted, on the base's identity
		if dk := identity(base); len(dk) > 0 {
			return dk, nil
		}
		return nil, fmt.Errorf("%w: dedupe before aggregate needs a merge_key for %s in the catalog", ErrNoTemplate, base.Name)
	case b.sig.Constraints.MergeKey != "":
		return key, nil // holds the target's identity (mergeKeyIsAKey)
	case len(identity(b.target)) > 0:
		return identity(b.target), nil
	case len(identity(base)) > 0:
		return identity(base), nil
	}
	return nil, fmt.Errorf("%w: dedupe into %s needs a key the catalog declares unique, and neither %s nor %s has a merge_key: declare one in the catalog",
		ErrNoTemplate, b.target.Name, b.target.Name, base.Name)
}

// anonymizeColumns groups Constraints.Anonymize ("dataset.column") by source.
func (b *builder) anonymizeColumns() (map[string][]string, error) {
	out := map[string][]string{}
	for _, entry := range b.sig.Constraints.Anonymize {
		ds, col, ok := strings.Cut(entry, ".")
		if !ok || ds == "" || col == "" {
			return nil, fmt.Errorf("%w: anonymize entry %q: write it as dataset.column", ErrInvalidOptions, entry)
		}
		i := slices.IndexFunc(b.sources, func(d catalog.Dataset) bool { return d.Name == ds })
		if i < 0 {
			return nil, fmt.Errorf("%w: anonymize entry %q names %s, which is not a source of the intent", ErrUnknownDataset, entry, ds)
		}
		if !b.sources[i].HasColumn(col) {
			return nil, fmt.Errorf("%w: anonymize entry %q: %s has no column %q", ErrUnknownColumn, entry, ds, col)
		}
		out[ds] = append(out[ds], col) // Canonical sorted the entries
	}
	return out, nil
}

func (b *builder) extract(src catalog.Dataset) head {
	cols := make([]Column, len(src.Columns))
	for i, c := range src.Columns {
		cols[i] = Column{Name: c.Name, Type: c.Type, Origin: src.Name + "." + c.Name}
	}
	s := Step{Kind: KindExtract, Dataset: src.Name, Columns: cols}
	if b.window != nil && src.PartitionKey == b.window.Column {
		w := *b.window
		s.Params.Filter = &w
	}
	h := head{cols: cols, unique: identity(src)}
	s.Params.Unique = h.unique
	h.id = b.add(s)
	return h
}

// anonymize hashes a PII column when the target keeps its <col>_hash and
// drops it otherwise, as in 5.5: sha256(cpf) as cpf_hash, drop(email).
func (b *builder) anonymize(src catalog.Dataset, in head, pii []string) head {
	var p Params
	cols := make([]Column, 0, len(in.cols))
	for _, c := range in.cols {
		if !slices.Contains(pii, c.Name) {
			cols = append(cols, c)
			continue
		}
		as := c.Name + "_hash"
		if b.target.HasColumn(as) || b.read { // a read hashes: the query masks what it returns
			p.Hash = append(p.Hash, HashedColumn{Column: c.Name, As: as})
			cols = append(cols, Column{Name: as, Type: "string", Origin: c.Origin, Transform: TransformSHA256})
		} else {
			p.Drop = append(p.Drop, c.Name)
		}
	}
	unique := in.unique
	if slices.ContainsFunc(unique, func(k string) bool { return slices.Contains(pii, k) }) {
		unique = nil
	}
	p.Unique = unique
	id := b.add(Step{Kind: KindAnonymize, Inputs: []string{in.id}, Dataset: src.Name, Columns: cols, Params: p})
	return head{id: id, cols: cols, unique: unique}
}

// join derives the equi-join from the catalog: the right side's merge key
// when the left has that column (a foreign key), else a column both sides
// hashed. The left side's rows stay unique when the right joins on its key.
func (b *builder) join(left, right head, rds catalog.Dataset) (head, error) {
	lcol, rcol := "", ""
	if mk := rds.MergeKey; mk != "" && hasName(left.cols, mk) && hasName(right.cols, mk) {
		lcol, rcol = mk, mk
	} else {
		for _, c := range right.cols {
			if c.Transform == TransformSHA256 && hasName(left.cols, c.Name) {
				lcol, rcol = c.Name, c.Name
				break
			}
		}
	}
	base := b.sources[0]
	if lcol == "" {
		return head{}, fmt.Errorf("%w: no join key between %s and %s: the catalog needs %s's merge_key %q as a column of %s, or a PII column both sides anonymize",
			ErrNoTemplate, base.Name, rds.Name, rds.Name, rds.MergeKey, base.Name)
	}
	strategy := JoinHash
	if min(base.SizeBytes, rds.SizeBytes) <= b.opts.BroadcastMaxBytes {
		strategy = JoinBroadcast
	}
	cols := slices.Clone(left.cols)
	for _, c := range right.cols {
		if !hasName(cols, c.Name) {
			cols = append(cols, c)
		}
	}
	var unique []string
	if right.unique != nil && subset(right.unique, []string{rcol}) {
		unique = left.unique
	}
	j := &Join{Strategy: strategy, Type: "left", Left: left.id, Right: right.id,
		LeftColumn: lcol, RightColumn: rcol, LeftDataset: base.Name, RightDataset: rds.Name}
	id := b.add(Step{Kind: KindJoin, Inputs: []string{left.id, right.id}, Dataset: base.Name, Columns: cols,
		Params: Params{Join: j, Unique: unique}})
	return head{id: id, cols: cols, unique: unique}, nil
}

// dedupe keeps one row per key: the latest by date and timestamp columns,
// ties broken by every other column so the survivor is a function of the
// rows alone.
func (b *builder) dedupe(in head, key []string, auto string) (head, error) {
	for _, k := range key {
		if !hasName(in.cols, k) {
			return head{}, fmt.Errorf("%w: dedupe key %q is not produced by step %s", ErrUnknownColumn, k, in.id)
		}
	}
	cols := slices.Clone(in.cols)
	p := Params{Key: slices.Clone(key), OrderBy: tieBreakers(cols, key), Auto: auto, Unique: slices.Clone(key)}
	id := b.add(Step{Kind: KindDedupe, Inputs: []string{in.id}, Dataset: b.target.Name, Columns: cols, Params: p})
	return head{id: id, cols: cols, unique: p.Unique}, nil
}

func tieBreakers(cols []Column, key []string) []Order {
	var dated, rest []Order
	for _, c := range cols {
		switch {
		case slices.Contains(key, c.Name):
		case c.Type == "date" || c.Type == "timestamp":
			dated = append(dated, Order{Column: c.Name, Desc: true})
		default:
			rest = append(rest, Order{Column: c.Name})
		}
	}
	return append(dated, rest...)
}

// aggregate derives the group-by from the target's columns: a target column
// the input has is a group key, or summed when both are numeric; an integer
// target column the input lacks is count(*).
func (b *builder) aggregate(in head) (head, error) {
	var p Params
	cols := make([]Column, 0, len(b.target.Columns))
	for _, tc := range b.target.Columns {
		i := slices.IndexFunc(in.cols, func(c Column) bool { return c.Name == tc.Name })
		switch {
		case i >= 0 && numeric(tc.Type) && numeric(in.cols[i].Type):
			p.Measures = append(p.Measures, Measure{Func: TransformSum, Column: tc.Name, As: tc.Name})
			cols = append(cols, Column{Name: tc.Name, Type: tc.Type, Origin: in.cols[i].Origin, Transform: TransformSum})
		case i >= 0:
			p.GroupBy = append(p.GroupBy, tc.Name)
			cols = append(cols, in.cols[i])
		case integer(tc.Type):
			p.Measures = append(p.Measures, Measure{Func: TransformCount, As: tc.Name})
			cols = append(cols, Column{Name: tc.Name, Type: tc.Type, Transform: TransformCount})
		default:
			return head{}, fmt.Errorf("%w: aggregate into %s: column %q is neither in the input (step %s) nor an integer count",
				ErrNoTemplate, b.target.Name, tc.Name, in.id)
		}
	}
	p.Unique = slices.Clone(p.GroupBy)
	id := b.add(Step{Kind: KindAggregate, Inputs: []string{in.id}, Dataset: b.target.Name, Columns: cols, Params: p})
	return head{id: id, cols: cols, unique: p.Unique}, nil
}

func (b *builder) load(in head, mode LoadMode, key []string) (string, error) {
	cols := make([]Column, 0, len(b.target.Columns))
	for _, tc := range b.target.Columns {
		i := slices.IndexFunc(in.cols, func(c Column) bool { return c.Name == tc.Name })
		if i < 0 {
			return "", fmt.Errorf("%w: target %s column %q is produced by no step (input %s has %s): add the source that provides it",
				ErrNoTemplate, b.target.Name, tc.Name, in.id, strings.Join(Names(in.cols), ", "))
		}
		c := in.cols[i]
		if b.sig.Constraints.EnforceTypes && !compatible(c.Type, tc.Type) {
			return "", violation(ConstraintEnforceTypes, "align the catalog types or cast in the source",
				"%s.%s is %s, the plan produces %s (from %s)", b.target.Name, tc.Name, tc.Type, c.Type, c.Origin)
		}
		c.Type = tc.Type
		cols = append(cols, c)
	}
	l := &Load{Mode: mode, Target: b.target.Name, Layer: b.target.Layer,
		MergeKey: b.sig.Constraints.MergeKey, PartitionKey: b.target.PartitionKey}
	if mode == LoadPartitionOverwrite {
		w := *b.window
		l.Window = &w
	}
	return b.add(Step{Kind: KindLoad, Inputs: []string{in.id}, Dataset: b.target.Name, Columns: cols,
		Params: Params{Key: slices.Clone(key), Load: l}}), nil
}

// rawPIINames are the raw PII column names of every source, sorted.
func (b *builder) rawPIINames() []string {
	var out []string
	for _, s := range b.sources {
		out = append(out, s.PII...)
	}
	for _, d := range b.sig.Sources() {
		out = append(out, d.PII...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func hasName(cols []Column, name string) bool {
	return slices.ContainsFunc(cols, func(c Column) bool { return c.Name == name })
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func integer(t string) bool { return t == "int" || t == "bigint" || t == "smallint" }

func numeric(t string) bool {
	return integer(t) || t == "double" || t == "float" || t == "decimal" || strings.HasPrefix(t, "decimal(")
}

// compatible allows equal types and numeric widening (sum of decimal(18,2)
// into decimal(20,2), count into bigint).
func compatible(from, to string) bool {
	return from == to || (numeric(from) && numeric(to))
}

// inputs extracts every source, anonymizes the columns anon names before
// anything else sees them, and joins the sources in order (largest first):
// the head every write or read template continues from.
func (b *builder) inputs(anon map[string][]string) (head, error) {
	heads := make([]head, len(b.sources))
	for i, src := range b.sources {
		heads[i] = b.extract(src)
	}
	for i, src := range b.sources { // after every extract: step numbers stay as they were
		if cols := anon[src.Name]; len(cols) > 0 {
			heads[i] = b.anonymize(src, heads[i], cols)
		}
	}
	if len(b.sources) == 1 && (b.sig.HasOp(signature.OpJoin) || b.sig.HasOp(signature.OpEnrich)) {
		return head{}, fmt.Errorf("%w: join asked for with one source (%s): name the dataset to join with", ErrNoTemplate, b.sources[0].Name)
	}
	cur := heads[0]
	for i := 1; i < len(b.sources); i++ {
		var err error
		if cur, err = b.join(cur, heads[i], b.sources[i]); err != nil {
			return head{}, err
		}
	}
	return cur, nil
}
