package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/ext"
	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/policies"
)

// Action is what a rule asks for when its condition holds.
type Action string

// The closed set of rule actions (whitepaper 5.3). Their order is their
// strictness: block wins over replan wins over approve.
const (
	Approve Action = "approve"
	Replan  Action = "replan"
	Block   Action = "block"
)

func (a Action) rank() int { return slices.Index([]Action{Approve, Replan, Block}, a) }

// PolicyType is one of the four policy families of whitepaper 5.3.
type PolicyType string

// The closed set of policy types.
const (
	PrivacyWall         PolicyType = "privacy_wall"
	FinOpsGuard         PolicyType = "finops_guard"
	ContractEnforcement PolicyType = "contract_enforcement"
	ExecutionSafety     PolicyType = "execution_safety"
)

var policyTypes = []PolicyType{PrivacyWall, FinOpsGuard, ContractEnforcement, ExecutionSafety}

// Rule is one declarative rule: the whitepaper's minimum contract (name,
// condition, action, severity, fault_code) plus what a reader and the replan
// loop need.
type Rule struct {
	Name          string         `json:"name"`
	PolicyType    PolicyType     `json:"policy_type"`
	Description   string         `json:"description"`
	Condition     string         `json:"condition"`
	Action        Action         `json:"action"`
	Severity      fault.Severity `json:"severity"`
	FaultCode     string         `json:"fault_code"`
	Remediation   []string       `json:"remediation"`
	Interventions []Intervention `json:"interventions"`
	// File and Line locate the rule in the bundle, for messages.
	File string `json:"-"`
	Line int    `json:"-"`

	prg cel.Program
}

// Bundle is a loaded, compiled policy bundle. It is immutable and safe for
// concurrent use.
type Bundle struct {
	Name string
	// DeclaredVersion is the version written in bundle.yaml.
	DeclaredVersion string
	// Version is the effective policy_bundle_version: DeclaredVersion plus
	// "+" and 12 hex digits of SHA-256 over the canonical content (ADR 0021).
	Version           string
	MaxReplanAttempts int
	Rules             []Rule // bundle order: files as listed, rules as written
	// Providers are the custom_rule_providers whose rules were loaded
	// after the bundle's, as name@version.
	Providers []string
	// Approvers says who may answer which escalations (bundle.yaml
	// confirmation; ADR 0115).
	Approvers confirmation.Approvers
	// Lifecycle is the lifecycle policy (promotion_policy,
	// evaluation_window, IDI limits) from LifecycleFile, or the
	// whitepaper's when the bundle names none.
	Lifecycle     lifecycle.Policy
	LifecycleFile string
	// Masking says how a read returns raw PII (a privacy_wall file's
	// masking section, docs/adr/0133); without one every column is hashed.
	Masking Masking

	tests []ruleTest
	// src and content are what the bundle was loaded from and the
	// canonical content its version names (Source, ADR 0122).
	src     *Source
	content []byte
}

// Limits applied to every condition (ADR 0024). The cost is checked once, at
// load, by CEL's static estimator under the fact bounds below; facts outside
// those bounds fail closed at evaluation, so no condition can run past
// CostLimit and no per-evaluation cost tracker is needed.
const (
	// CostLimit bounds one condition's worst-case cost, in CEL cost units.
	CostLimit = 100_000
	// MaxFactListLen and MaxFactStringLen bound every list fact and every
	// string (also list elements) the cost estimate assumes.
	MaxFactListLen   = 256
	MaxFactStringLen = 128
	// maxConditionLen bounds the source of one condition.
	maxConditionLen = 2_048
)

var (
	faultCodeRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	ruleNameRE  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// ErrInvalidBundle matches (errors.Is) every Load error caused by bundle
// content, as opposed to I/O errors.
var ErrInvalidBundle = errors.New("invalid policy bundle")

// invalidError carries a bundle-content message; it is ErrInvalidBundle
// without repeating those words in the middle of the message.
type invalidError struct{ err error }

func (e invalidError) Error() string        { return e.err.Error() }
func (e invalidError) Unwrap() error        { return e.err }
func (e invalidError) Is(target error) bool { return target == ErrInvalidBundle }

func invalidf(format string, args ...any) error {
	return invalidError{fmt.Errorf(format, args...)}
}

// Default loads the bundle shipped in policies/ (policies.FS).
func Default() (*Bundle, error) { return load(policies.FS, "policies/") }

// Load reads bundle.yaml and the rule files it lists from fsys, decodes them
// strictly and compiles every condition once.
func Load(fsys fs.FS) (*Bundle, error) { return load(fsys, "") }

// RuleSource is the rule files of a custom_rule_provider (whitepaper 9):
// every *.yaml file of FS, in name order, in the bundle's rule file format.
type RuleSource struct {
	Name    string
	Version string
	FS      fs.FS
}

// LoadWith loads the bundle of fsys and the rules of each source, compiled
// and checked like the bundle's own. The sources' names, versions and rules
// enter the effective policy_bundle_version, so a signature records exactly
// which rules governed it.
func LoadWith(fsys fs.FS, sources ...RuleSource) (*Bundle, error) {
	return load(fsys, "", sources...)
}

type bundleYAML struct {
	Name              string   `yaml:"name"`
	Version           string   `yaml:"version"`
	MaxReplanAttempts int      `yaml:"max_replan_attempts"`
	Policies          []string `yaml:"policies"`
	// Confirmation declares the approvers (ADR 0115).
	Confirmation confirmation.Approvers `yaml:"confirmation"`
	// Lifecycle names the lifecycle policy file: promotion_policy,
	// evaluation_window and the IDI limits (whitepaper 5.11/5.12; ADR 0123).
	// Without it the whitepaper's values apply.
	Lifecycle string `yaml:"lifecycle"`
}

type ruleFileYAML struct {
	PolicyType  PolicyType `yaml:"policy_type"`
	Description string     `yaml:"description"`
	Rules       []ruleYAML `yaml:"rules"`
	Tests       []testYAML `yaml:"tests"`
	// Masking is a privacy_wall file's masking section (docs/adr/0133).
	Masking *Masking `yaml:"masking"`
}

type ruleYAML struct {
	Name          string         `yaml:"name"`
	Description   string         `yaml:"description"`
	Condition     string         `yaml:"condition"`
	Action        Action         `yaml:"action"`
	Severity      fault.Severity `yaml:"severity"`
	FaultCode     string         `yaml:"fault_code"`
	Remediation   []string       `yaml:"remediation"`
	Interventions []Intervention `yaml:"interventions"`
}

type testYAML struct {
	Name  string    `yaml:"name"`
	Facts yaml.Node `yaml:"facts"`
	Fires []string  `yaml:"fires"`
}

// ruleTest is one row of a file's tests table: with these facts, exactly
// the listed rules of that file fire.
type ruleTest struct {
	file  string
	line  int
	name  string
	facts Facts
	fires []string
}

func load(fsys fs.FS, prefix string, sources ...RuleSource) (*Bundle, error) {
	const manifest = "bundle.yaml"
	fsys, sources, recorded := recordReads(fsys, prefix, sources)
	var bm bundleYAML
	if _, err := decodeStrict(fsys, manifest, &bm); err != nil {
		return nil, fmt.Errorf("%s%s: %w", prefix, manifest, err)
	}
	if err := bm.validate(); err != nil {
		return nil, invalidf("%s%s: %w", prefix, manifest, err)
	}
	if err := checkUnlisted(fsys, manifest, append(slices.Clone(bm.Policies), bm.Lifecycle)); err != nil {
		return nil, invalidf("%s%s: %w", prefix, manifest, err)
	}
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("build policy CEL environment: %w", err)
	}
	b := &Bundle{Name: bm.Name, DeclaredVersion: bm.Version, MaxReplanAttempts: bm.MaxReplanAttempts, Approvers: bm.Confirmation,
		Lifecycle: lifecycle.DefaultPolicy()}
	if bm.Lifecycle != "" {
		data, err := fs.ReadFile(fsys, bm.Lifecycle)
		if err != nil {
			return nil, invalidf("%s%s: lifecycle %s: %w", prefix, manifest, bm.Lifecycle, err)
		}
		if b.Lifecycle, err = lifecycle.ParsePolicy(data); err != nil {
			return nil, invalidf("%s%s: %w", prefix, bm.Lifecycle, err)
		}
		b.LifecycleFile = bm.Lifecycle
	}
	if b.Lifecycle.Promotion == lifecycle.PromotionHuman && len(b.Approvers.ForCategory(confirmation.CategoryPromotion).Approvers) == 0 {
		return nil, invalidf("%s%s: promotion.mode human needs approvers: declare confirmation.approvers.promotion in %s", prefix, bm.Lifecycle, manifest)
	}
	seen := map[string]string{}
	for _, file := range bm.Policies {
		if err := b.loadFile(fsys, env, prefix, file, seen); err != nil {
			return nil, err
		}
	}
	if len(b.Rules) == 0 {
		return nil, invalidf("%s%s: no rules in the listed policy files", prefix, manifest)
	}
	for _, src := range sources {
		if src.Name == "" || src.Version == "" || strings.ContainsAny(src.Name+src.Version, "+ \t\n@") {
			return nil, invalidf("custom_rule_provider %q version %q: name and version are required, with no '+', '@' or spaces", src.Name, src.Version)
		}
		files, err := fs.Glob(src.FS, "*.yaml")
		if err != nil || len(files) == 0 {
			return nil, invalidf("custom_rule_provider %s: no *.yaml rule file (%v)", src.Name, err)
		}
		slices.Sort(files)
		for _, file := range files {
			if err := b.loadFile(src.FS, env, "custom_rule_provider "+src.Name+": ", file, seen); err != nil {
				return nil, err
			}
		}
		b.Providers = append(b.Providers, src.Name+"@"+src.Version)
	}
	b.Version, err = b.effectiveVersion()
	if err != nil {
		return nil, err
	}
	b.src = recorded
	return b, nil
}

func (bm bundleYAML) validate() error {
	switch {
	case bm.Name == "":
		return errors.New("name is required")
	case bm.Version == "" || strings.ContainsAny(bm.Version, "+ \t\n"):
		return fmt.Errorf("version %q must be non-empty with no '+' or spaces (the content hash is appended at load)", bm.Version)
	case bm.MaxReplanAttempts < 1 || bm.MaxReplanAttempts > 10:
		return fmt.Errorf("max_replan_attempts %d must be between 1 and 10 (the whitepaper uses 3)", bm.MaxReplanAttempts)
	case len(bm.Policies) == 0:
		return errors.New("policies must list the rule files of the bundle")
	}
	if err := bm.Confirmation.Validate(); err != nil {
		return err
	}
	for i, p := range bm.Policies {
		if !strings.HasSuffix(p, ".yaml") || path.Base(p) != p {
			return fmt.Errorf("policies[%d] %q must be a .yaml file name next to bundle.yaml", i, p)
		}
		if slices.Contains(bm.Policies[:i], p) {
			return fmt.Errorf("policies[%d] %q is listed twice", i, p)
		}
	}
	return nil
}

// checkUnlisted rejects a .yaml file the manifest forgot: a rule file that
// silently does not load is a policy that silently does not apply.
func checkUnlisted(fsys fs.FS, manifest string, listed []string) error {
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return err
	}
	for _, f := range files {
		if f != manifest && !slices.Contains(listed, f) {
			return fmt.Errorf("%s is not listed under policies: add it or remove the file", f)
		}
	}
	return nil
}

func (b *Bundle) loadFile(fsys fs.FS, env *cel.Env, prefix, file string, seen map[string]string) error {
	name := prefix + file
	var rf ruleFileYAML
	root, err := decodeStrict(fsys, file, &rf)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if !slices.Contains(policyTypes, rf.PolicyType) {
		return invalidf("%s: policy_type %q must be one of %v", name, rf.PolicyType, policyTypes)
	}
	if m := rf.Masking; m != nil {
		switch {
		case rf.PolicyType != PrivacyWall:
			return invalidf("%s: masking belongs to the privacy_wall policy, not %s", name, rf.PolicyType)
		case b.Masking.Declared():
			return invalidf("%s: masking is declared already in %s; declare it once", name, b.Masking.File)
		case prefix != "" && strings.HasPrefix(prefix, "custom_rule_provider"):
			return invalidf("%s: a custom_rule_provider adds rules; the masking of reads is the bundle's own", name)
		}
		if err := m.validate(); err != nil {
			return invalidf("%s: %w", name, err)
		}
		b.Masking = *m
		b.Masking.File = name
	}
	ruleLines := seqLines(root, "rules")
	testLines := seqLines(root, "tests")
	first := len(b.Rules)
	for i, ry := range rf.Rules {
		r, err := compileRule(env, rf.PolicyType, ry)
		line := at(ruleLines, i)
		if err != nil {
			return fmt.Errorf("%s: rule %q (line %d): %w", name, ry.Name, line, err)
		}
		if prev, dup := seen[r.Name]; dup {
			return invalidf("%s: rule %q (line %d): name already used in %s; rule names must be unique in the bundle", name, r.Name, line, prev)
		}
		seen[r.Name] = fmt.Sprintf("%s line %d", name, line)
		r.File, r.Line = name, line
		b.Rules = append(b.Rules, r)
	}
	fileRules := b.Rules[first:]
	for i, ty := range rf.Tests {
		line := at(testLines, i)
		t := ruleTest{file: name, line: line, name: ty.Name, fires: ty.Fires}
		if ty.Name == "" {
			return invalidf("%s: test #%d (line %d): name is required", name, i+1, line)
		}
		if !ty.Facts.IsZero() {
			if err := decodeFacts(&ty.Facts, &t.facts); err != nil {
				return fmt.Errorf("%s: test %q (line %d): facts: %w", name, ty.Name, line, err)
			}
		}
		for _, f := range ty.Fires {
			if !slices.ContainsFunc(fileRules, func(r Rule) bool { return r.Name == f }) {
				return invalidf("%s: test %q (line %d): fires names %q, which is not a rule of this file", name, ty.Name, line, f)
			}
		}
		b.tests = append(b.tests, t)
	}
	return nil
}

func compileRule(env *cel.Env, pt PolicyType, ry ruleYAML) (Rule, error) {
	r := Rule{
		Name: ry.Name, PolicyType: pt, Description: ry.Description, Condition: strings.TrimSpace(ry.Condition),
		Action: ry.Action, Severity: ry.Severity, FaultCode: ry.FaultCode,
		Remediation: ry.Remediation, Interventions: ry.Interventions,
	}
	switch {
	case !ruleNameRE.MatchString(r.Name):
		return r, invalidf("name %q must be snake_case ([a-z][a-z0-9_]*)", r.Name)
	case r.Action.rank() < 0:
		return r, invalidf("action %q must be one of approve|replan|block", r.Action)
	case !r.Severity.Valid():
		return r, invalidf("severity %q must be one of low|medium|high|critical", r.Severity)
	case r.FaultCode == "":
		return r, invalidf("fault_code is required (e.g. GOVERNANCE_RAW_PII_IN_SILVER)")
	case !faultCodeRE.MatchString(r.FaultCode):
		return r, invalidf("fault_code %q must be UPPER_SNAKE_CASE", r.FaultCode)
	case r.Condition == "":
		return r, invalidf("condition is required (a CEL expression over the facts)")
	case len(r.Condition) > maxConditionLen:
		return r, invalidf("condition is %d bytes, more than %d; split the rule", len(r.Condition), maxConditionLen)
	case r.Action == Replan && len(r.Interventions) == 0:
		return r, invalidf("a replan rule must declare interventions (e.g. - op: anonymize_pii)")
	case r.Action != Replan && len(r.Interventions) > 0:
		return r, invalidf("only replan rules take interventions; action is %q", r.Action)
	}
	for i, iv := range r.Interventions {
		if err := iv.validate(); err != nil {
			return r, invalidf("interventions[%d]: %w", i, err)
		}
	}
	ast, iss := env.Compile(r.Condition)
	if iss.Err() != nil {
		return r, invalidf("condition: %w", iss.Err())
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return r, invalidf("condition: evaluates to %s, must be bool", ast.OutputType())
	}
	est, err := env.EstimateCost(ast, factSizes{})
	if err != nil {
		return r, fmt.Errorf("condition: estimate cost: %w", err)
	}
	if est.Max > CostLimit {
		return r, invalidf("condition: worst-case cost %d exceeds the limit %d (lists of up to %d facts); simplify the expression",
			est.Max, CostLimit, MaxFactListLen)
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return r, fmt.Errorf("condition: plan program: %w", err)
	}
	r.prg = prg
	return r, nil
}

// factSizes tells CEL's cost estimator how large facts can be.
type factSizes struct{}

func (factSizes) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	p := n.Path()
	if len(p) == 0 {
		return nil
	}
	if _, ok := factIndex[p[0]]; !ok {
		return nil
	}
	var est cost.SizeEstimate
	switch {
	case len(p) == 1 && n.Type().IsExactType(cel.ListType(cel.StringType)):
		est = cost.RangedSizeEstimate(0, MaxFactListLen)
	case n.Type().IsExactType(cel.StringType): // a string fact or a list element
		est = cost.RangedSizeEstimate(0, MaxFactStringLen)
	default:
		return nil
	}
	return &est
}

func (factSizes) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}

// newEnv declares every fact as a typed variable; nothing else is in scope,
// so a condition naming an unknown variable fails to compile.
func newEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{ext.Strings(), cel.ParserExpressionSizeLimit(maxConditionLen)}
	for _, v := range factVars {
		opts = append(opts, cel.Variable(v.name, v.typ))
	}
	return cel.NewEnv(opts...)
}

// decodeStrict decodes one YAML document from fsys/file into v, rejecting
// unknown fields, and returns the node tree for line numbers.
func decodeStrict(fsys fs.FS, file string, v any) (*yaml.Node, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, invalidf("file is empty")
		}
		return nil, invalidf("%w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, invalidf("%w", err)
	}
	return &root, nil
}

// decodeFacts decodes a test row's facts, rejecting names that are not
// declared facts (yaml.Node.Decode has no strict mode).
func decodeFacts(n *yaml.Node, f *Facts) error {
	if n.Kind != yaml.MappingNode {
		return invalidf("line %d: facts must be a mapping of fact name to value", n.Line)
	}
	for i := 0; i < len(n.Content); i += 2 {
		if _, ok := factIndex[n.Content[i].Value]; !ok {
			return invalidf("line %d: %q is not a declared fact (see policy.FactNames)", n.Content[i].Line, n.Content[i].Value)
		}
	}
	if err := n.Decode(f); err != nil {
		return invalidf("%w", err)
	}
	return nil
}

// seqLines returns the line of each item of the top-level sequence key.
func seqLines(root *yaml.Node, key string) []int {
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == key && doc.Content[i+1].Kind == yaml.SequenceNode {
			var lines []int
			for _, it := range doc.Content[i+1].Content {
				lines = append(lines, it.Line)
			}
			return lines
		}
	}
	return nil
}

func at(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}

// effectiveVersion hashes what decides outcomes: the manifest fields, the
// facts schema and every rule in bundle order, as JSON. Comments, layout and
// test tables do not change it; any change to a rule does.
func (b *Bundle) effectiveVersion() (string, error) {
	content := struct {
		Facts             string   `json:"facts_schema"`
		Name              string   `json:"name"`
		Version           string   `json:"version"`
		MaxReplanAttempts int      `json:"max_replan_attempts"`
		Rules             []Rule   `json:"rules"`
		Providers         []string `json:"providers,omitempty"`
		// Who may approve is governance too: a new approver is a new
		// bundle version. Maps marshal with sorted keys.
		Approvers confirmation.Approvers `json:"confirmation"`
		// The promotion thresholds and windows decide which skills are
		// industrialized: a bundle that changes them is a new version. A
		// bundle without a lifecycle file keeps the version it had.
		Lifecycle *lifecycle.Policy `json:"lifecycle,omitempty"`
		// How reads mask PII decides what a reader sees: a bundle that
		// changes it is a new version; one without it keeps its version.
		Masking *Masking `json:"masking,omitempty"`
	}{FactsSchemaVersion, b.Name, b.DeclaredVersion, b.MaxReplanAttempts, b.Rules, b.Providers, b.Approvers, nil, nil}
	if b.LifecycleFile != "" {
		content.Lifecycle = &b.Lifecycle
	}
	if b.Masking.Declared() {
		content.Masking = &b.Masking
	}
	data, err := json.Marshal(content)
	if err != nil {
		return "", fmt.Errorf("hash policy bundle %q: %w", b.Name, err)
	}
	b.content = data
	sum := sha256.Sum256(data)
	return b.DeclaredVersion + "+" + hex.EncodeToString(sum[:])[:12], nil
}

// Rule returns the named rule.
func (b *Bundle) Rule(name string) (Rule, bool) {
	i := slices.IndexFunc(b.Rules, func(r Rule) bool { return r.Name == name })
	if i < 0 {
		return Rule{}, false
	}
	return b.Rules[i], true
}
