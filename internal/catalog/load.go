package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrInvalid is wrapped by every error Load returns for a catalog that does
// not parse or validate; callers branch on it with errors.Is.
var ErrInvalid = errors.New("invalid data catalog")

// Classifications and layers a catalog entry may declare.
var (
	classifications = []string{"high_volume", "sensitive", "internal", "public"}
	layers          = []string{"bronze", "silver", "gold"}
)

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// FieldError is one validation problem, located by file, dataset and field
// so the person editing the YAML knows where to look and what to change.
type FieldError struct {
	File    string
	Dataset string // empty for file-level problems
	Field   string // empty for file-level problems
	Problem string
	Fix     string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString("catalog file ")
	b.WriteString(e.File)
	if e.Dataset != "" {
		fmt.Fprintf(&b, ", dataset %q", e.Dataset)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ", field %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s; %s", e.Problem, e.Fix)
	return b.String()
}

// Unwrap lets errors.Is(err, ErrInvalid) match any FieldError.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// file is the shape of one catalog YAML file.
type file struct {
	Datasets []Dataset `yaml:"datasets"`
}

// Load reads every *.yaml file at the root of fsys, validates the entries,
// sorts them by name and derives SnapshotVersion from the content. All
// problems are reported at once, each as a *FieldError wrapping ErrInvalid.
func Load(fsys fs.FS) (*Catalog, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("load data catalog: list *.yaml: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("load data catalog: no *.yaml file found; add one with a top-level datasets: list: %w", ErrInvalid)
	}
	slices.Sort(names) // fs.Glob sorts already; keep the order explicit (I8)

	var (
		all  []Dataset
		errs []error
		seen = map[string]string{} // dataset name -> file that declared it
	)
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("load data catalog: read %s: %w", name, err)
		}
		f, err := decode(raw)
		if err != nil {
			errs = append(errs, &FieldError{File: name, Problem: err.Error(), Fix: "fix the YAML: a top-level datasets: list whose entries use only the documented fields"})
			continue
		}
		for i := range f.Datasets {
			d := &f.Datasets[i]
			errs = append(errs, validateDataset(name, d)...)
			if prev, dup := seen[d.Name]; dup && d.Name != "" {
				errs = append(errs, &FieldError{File: name, Dataset: d.Name, Field: "name", Problem: "declared again (first in " + prev + ")", Fix: "rename one of them or delete the duplicate"})
				continue
			}
			seen[d.Name] = name
			all = append(all, *d)
		}
	}
	slices.SortFunc(all, func(a, b Dataset) int { return strings.Compare(a.Name, b.Name) })
	errs = append(errs, validateCrossRefs(all, seen)...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("load data catalog: %w", errors.Join(errs...))
	}

	c := &Catalog{Datasets: all}
	v, err := snapshotVersion(all)
	if err != nil {
		return nil, err
	}
	c.SnapshotVersion = v
	c.terms = buildIndex(all)
	return c, nil
}

func decode(raw []byte) (file, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true) // a misspelt field is an error, not a silent default
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return f, errors.New("file is empty")
		}
		return f, err
	}
	if len(f.Datasets) == 0 {
		return f, errors.New("no datasets declared")
	}
	return f, nil
}

func validateDataset(fileName string, d *Dataset) []error {
	var errs []error
	bad := func(field, problem, fix string) {
		errs = append(errs, &FieldError{File: fileName, Dataset: d.Name, Field: field, Problem: problem, Fix: fix})
	}
	if !snakeCase.MatchString(d.Name) {
		bad("name", fmt.Sprintf("%q is not a snake_case name", d.Name), "use lower-case letters, digits and underscores, starting with a letter")
	}
	if !snakeCase.MatchString(d.Domain) {
		bad("domain", fmt.Sprintf("%q is missing or not snake_case", d.Domain), "set the business domain, e.g. fiscal or master_data")
	}
	if !slices.Contains(layers, d.Layer) {
		bad("layer", fmt.Sprintf("%q is not a layer", d.Layer), "use one of "+strings.Join(layers, ", "))
	}
	if !slices.Contains(classifications, d.Classification) {
		bad("classification", fmt.Sprintf("%q is not a classification", d.Classification), "use one of "+strings.Join(classifications, ", "))
	}
	if n, err := ParseSize(d.Size); err != nil {
		bad("size", err.Error(), "write an integer and a unit, e.g. 500MB or 4TB")
	} else {
		d.SizeBytes = n
	}
	if strings.TrimSpace(d.SourceType) == "" {
		bad("source_type", "is empty", "say how the data is stored, e.g. nested_json, table, delta, parquet")
	}
	if len(d.Columns) == 0 {
		bad("columns", "is empty", "list the dataset's columns with name and type")
	}
	cols := map[string]bool{}
	for i, c := range d.Columns {
		field := fmt.Sprintf("columns[%d]", i)
		switch {
		case !snakeCase.MatchString(c.Name):
			bad(field+".name", fmt.Sprintf("%q is not a snake_case column name", c.Name), "use lower-case letters, digits and underscores")
		case cols[c.Name]:
			bad(field+".name", fmt.Sprintf("column %q is declared twice", c.Name), "delete the duplicate")
		case strings.TrimSpace(c.Type) == "":
			bad(field+".type", fmt.Sprintf("column %q has no type", c.Name), "give its type, e.g. string, date, decimal(18,2)")
		}
		cols[c.Name] = true
	}
	errs = append(errs, validateColumnAliases(fileName, d)...)
	for _, p := range d.PII {
		if !cols[p] {
			bad("pii", fmt.Sprintf("PII column %q is not among the columns", p), "add it to columns or remove it from pii")
		}
	}
	if d.PartitionKey != "" && !cols[d.PartitionKey] {
		bad("partition_key", fmt.Sprintf("%q is not among the columns", d.PartitionKey), "name one of the dataset's columns")
	}
	if d.MergeKey != "" && !cols[d.MergeKey] {
		bad("merge_key", fmt.Sprintf("%q is not among the columns", d.MergeKey), "name one of the dataset's columns")
	}
	folded := map[string]bool{Normalize(d.Name): true}
	for _, a := range d.Aliases {
		n := Normalize(a)
		switch {
		case n == "":
			bad("aliases", fmt.Sprintf("alias %q has no letters or digits", a), "write the term a user would type")
		case folded[n]:
			bad("aliases", fmt.Sprintf("alias %q repeats the name or another alias once accents and case are ignored", a), "delete the duplicate")
		}
		folded[n] = true
	}
	return errs
}

// validateCrossRefs checks what needs the whole catalog: anonymized_from
// targets and aliases that would shadow another dataset's name.
func validateCrossRefs(all []Dataset, fileOf map[string]string) []error {
	var errs []error
	names := map[string]bool{}
	for _, d := range all {
		names[Normalize(d.Name)] = true
	}
	for _, d := range all {
		if d.AnonymizedFrom != "" {
			if !names[d.AnonymizedFrom] {
				errs = append(errs, &FieldError{File: fileOf[d.Name], Dataset: d.Name, Field: "anonymized_from", Problem: fmt.Sprintf("%q is not a dataset of the catalog", d.AnonymizedFrom), Fix: "name the sensitive dataset this one is the anonymized copy of"})
			}
			if len(d.PII) > 0 {
				errs = append(errs, &FieldError{File: fileOf[d.Name], Dataset: d.Name, Field: "pii", Problem: "an anonymized copy declares raw PII columns", Fix: "hash or drop those columns, or remove anonymized_from"})
			}
		}
		for _, a := range d.Aliases {
			if n := Normalize(a); n != Normalize(d.Name) && names[n] {
				errs = append(errs, &FieldError{File: fileOf[d.Name], Dataset: d.Name, Field: "aliases", Problem: fmt.Sprintf("alias %q is the name of another dataset", a), Fix: "remove the alias; a dataset's name always resolves to that dataset"})
			}
		}
	}
	return errs
}

// snapshotVersion hashes the canonical JSON of the sorted datasets. JSON of
// structs keeps field order fixed, so the same content gives the same version.
func snapshotVersion(all []Dataset) (string, error) {
	b, err := json.Marshal(all)
	if err != nil {
		return "", fmt.Errorf("load data catalog: encode content for catalog_snapshot_version: %w", err)
	}
	return ContentVersion(b), nil
}

var sizePattern = regexp.MustCompile(`^([0-9]+)\s*(B|KB|MB|GB|TB|PB)$`)

// ParseSize converts a catalog size such as "4TB" or "500MB" to bytes, in
// binary units (1KB = 1024B), as storage engines report them.
func ParseSize(s string) (int64, error) {
	m := sizePattern.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(s)))
	if m == nil {
		return 0, fmt.Errorf("size %q is not an integer followed by B, KB, MB, GB, TB or PB", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	shift := map[string]uint{"B": 0, "KB": 10, "MB": 20, "GB": 30, "TB": 40, "PB": 50}[m[2]]
	if n > (1<<63-1)>>shift {
		return 0, fmt.Errorf("size %q overflows 64-bit bytes", s)
	}
	return n << shift, nil
}

// Get returns the dataset with the exact catalog name.
func (c *Catalog) Get(name string) (Dataset, bool) {
	// Linear: catalogs are small and a hand-built one may not be sorted.
	i := slices.IndexFunc(c.Datasets, func(d Dataset) bool { return d.Name == name })
	if i < 0 {
		return Dataset{}, false
	}
	return c.Datasets[i], true
}

// Names returns the dataset names in sorted order.
func (c *Catalog) Names() []string {
	out := make([]string, len(c.Datasets))
	for i, d := range c.Datasets {
		out[i] = d.Name
	}
	return out
}

// HasColumn reports whether the dataset declares the column.
func (d Dataset) HasColumn(name string) bool {
	return slices.ContainsFunc(d.Columns, func(c Column) bool { return c.Name == name })
}

// validateColumnAliases checks that every column alias has letters and
// names one column only: an alias equal to another column's name or alias
// in the same dataset would make "by <alias>" ambiguous by construction.
// Datasets may reuse an alias ("revenue" is valor_total in nfe and valor in
// vendas_diarias): columns are resolved within the datasets in play.
func validateColumnAliases(fileName string, d *Dataset) []error {
	var errs []error
	owner := map[string]string{} // folded term -> column
	for _, c := range d.Columns {
		names, _ := c.ColumnTerms()
		for _, n := range names {
			owner[n] = c.Name
		}
	}
	for i, c := range d.Columns {
		for _, a := range c.Aliases {
			n := Normalize(a)
			field := fmt.Sprintf("columns[%d].aliases", i)
			switch prev, taken := owner[n]; {
			case n == "":
				errs = append(errs, &FieldError{File: fileName, Dataset: d.Name, Field: field, Problem: fmt.Sprintf("alias %q has no letters or digits", a), Fix: "write the word a user would type"})
			case taken && prev == c.Name:
				errs = append(errs, &FieldError{File: fileName, Dataset: d.Name, Field: field, Problem: fmt.Sprintf("alias %q repeats the name or another alias of column %s once accents and case are ignored", a, c.Name), Fix: "delete the duplicate"})
			case taken:
				errs = append(errs, &FieldError{File: fileName, Dataset: d.Name, Field: field, Problem: fmt.Sprintf("alias %q of column %s already names column %s", a, c.Name, prev), Fix: "give each alias to one column of the dataset"})
			default:
				owner[n] = c.Name
			}
		}
	}
	return errs
}
