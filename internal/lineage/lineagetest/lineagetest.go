// Package lineagetest helps tests check OpenLineage events: a validator
// against CFA's statement of the spec (internal/lineage/testdata), and
// against the official OpenLineage.json when CFA_OPENLINEAGE_SCHEMA names
// it, and an HTTP receiver that collects what is posted to it.
package lineagetest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/revalidation"
	"github.com/contextualflux/cfa/internal/signature"
)

// SchemaEnv names the official OpenLineage.json to validate against as well.
const SchemaEnv = "CFA_OPENLINEAGE_SCHEMA"

// SchemaPath is the path of CFA's JSON Schema of the events it emits.
func SchemaPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "openlineage-run-event.schema.json")
}

// Validator checks events against every schema it loaded.
type Validator struct {
	names   []string
	schemas []*jsonschema.Schema
}

// NewValidator loads CFA's schema and, when CFA_OPENLINEAGE_SCHEMA is set,
// the file it names. Formats (uuid, date-time, uri) are asserted.
func NewValidator() (*Validator, error) {
	v := &Validator{}
	paths := []string{SchemaPath()}
	if p := os.Getenv(SchemaEnv); p != "" {
		paths = append(paths, p)
	}
	for _, p := range paths {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		s, err := c.Compile(abs)
		if err != nil {
			return nil, fmt.Errorf("compile the OpenLineage schema %s: %w", p, err)
		}
		v.names, v.schemas = append(v.names, p), append(v.schemas, s)
	}
	return v, nil
}

// Schemas are the files the validator loaded.
func (v *Validator) Schemas() []string { return v.names }

// Validate checks one event (JSON) against every schema.
func (v *Validator) Validate(event []byte) error {
	for i, s := range v.schemas {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
		if err != nil {
			return fmt.Errorf("the event is not JSON: %w", err)
		}
		if err := s.Validate(inst); err != nil {
			return fmt.Errorf("against %s: %w", v.names[i], err)
		}
	}
	return nil
}

// Request is one request the receiver got.
type Request struct {
	Method        string
	ContentType   string
	Authorization string
	Body          []byte
}

// Receiver is a lineage server stand-in: it collects every request and
// answers Status (default 201 Created, as Marquez does).
type Receiver struct {
	*httptest.Server

	mu       sync.Mutex
	requests []Request
	// Status answers each request in turn; past its end, 201.
	Status []int
}

// NewReceiver starts a Receiver; the caller closes it.
func NewReceiver(status ...int) *Receiver {
	r := &Receiver{Status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.requests)
		r.requests = append(r.requests, Request{Method: req.Method, ContentType: req.Header.Get("Content-Type"),
			Authorization: req.Header.Get("Authorization"), Body: body})
		code := http.StatusCreated
		if n < len(r.Status) {
			code = r.Status[n]
		}
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	return r
}

// Requests returns the requests received so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Accepted returns the bodies of the requests answered with a 2xx, in the
// order received.
func (r *Receiver) Accepted() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]byte
	for i, req := range r.requests {
		code := http.StatusCreated
		if i < len(r.Status) {
			code = r.Status[i]
		}
		if code >= 200 && code < 300 {
			out = append(out, req.Body)
		}
	}
	return out
}

// Fixture is an intent to run: the whitepaper reconciliation (nfe and
// clientes into silver_documentos), the plan the planner makes for it and
// the shipped catalog.
type Fixture struct {
	Catalog   *catalog.Catalog
	Signature signature.Signature
	Hash      string
	Plan      planner.ExecutionPlan
}

// Reconciliation returns the fixture.
func Reconciliation() (Fixture, error) {
	cat := plannertest.Catalog()
	sig := plannertest.Reconciliation(cat)
	h, err := sig.Hash()
	if err != nil {
		return Fixture{}, err
	}
	p, err := planner.Plan(sig, cat, planner.Options{AsOf: plannertest.AsOf})
	if err != nil {
		return Fixture{}, err
	}
	return Fixture{Catalog: cat, Signature: sig, Hash: h, Plan: p}, nil
}

// Batches are the audit events of intentID as its stages append them, one
// batch per stage, from its receipt to its decision: through execution
// when executed, else stopped before it; decided state with faults.
func (f Fixture) Batches(intentID string, at time.Time, executed bool, state decision.State, faults ...string) ([][]audit.Event, error) {
	var out [][]audit.Event
	seq := int64(0)
	add := func(stage, outcome string, ps ...events.Payload) error {
		var batch []audit.Event
		for _, p := range ps {
			seq++
			e := audit.Event{
				IntentID: intentID, Seq: seq, CorrelationID: "corr-" + intentID, PolicyBundleVersion: "v1.0.0",
				Stage: stage, EventType: p.EventType(), Outcome: outcome,
				Actor: audit.Principal{ID: "cfa-worker", Type: audit.PrincipalSystem}, Action: audit.ActionInvoke,
				Targets: []string{"intent:" + intentID}, Timestamp: at.Add(time.Duration(seq) * time.Second).UTC(),
			}
			if _, empty := p.(events.IntentCompleted); !empty {
				b, err := audit.EncodeDetails(p)
				if err != nil {
					return err
				}
				e.Details = b
			}
			batch = append(batch, e)
		}
		out = append(out, batch)
		return nil
	}
	steps := []func() error{
		func() error { return add("intent_received", "received", events.IntentReceived{}) },
		func() error {
			return add("state_signature", "signed", events.SignatureGenerated{IntentSignatureHash: f.Hash, Signature: f.Signature})
		},
		func() error {
			return add("policy_engine", "approved", events.PolicyApprove{IntentSignatureHash: f.Hash})
		},
		func() error {
			return add("execution_planner", "planned", events.ExecutionPlanGenerated{PlanHash: f.Plan.Hash, IntentSignatureHash: f.Hash, Target: f.Plan.Target})
		},
		func() error {
			return add("static_validation", "passed", events.CodeAnalysis{CodeHash: "code-" + f.Plan.Hash[:8], Passed: true})
		},
	}
	if executed {
		steps = append(steps,
			func() error {
				return add("concurrency_control", "acquired", events.ScopeAcquired{Scopes: []string{f.Plan.Target}})
			},
			func() error {
				return add("pre_execution_revalidation", string(revalidation.Proceed), events.Revalidation{Result: revalidation.Result{Outcome: revalidation.Proceed}})
			},
			func() error {
				return add("state_projection", "projected", events.EnvironmentProjected{VersionID: "reg_next"})
			})
	}
	steps = append(steps, func() error {
		return add("decision_engine", string(state), events.Decision{DecisionState: state, DecidedBy: "decision_engine", Reason: "test", Faults: faults, IntentSignatureHash: f.Hash},
			events.IntentCompleted{})
	})
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	// The decision and INTENT_COMPLETED carry the decision's outcome.
	last := out[len(out)-1]
	last[1].Outcome = string(state)
	last[1].Stage = "audit_trail"
	return out, nil
}
