package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/api"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/identity"
	"github.com/contextualflux/cfa/internal/service"
	cfav1 "github.com/contextualflux/cfa/proto/cfa/v1"
	"github.com/contextualflux/cfa/proto/cfa/v1/cfav1connect"
	"github.com/contextualflux/cfa/workflows"
)

// apiBench is what the API series measured.
type apiBench struct {
	N int `json:"n"`
	// Direct and API are submit-to-decision latencies of the same auto
	// intent, measured in alternation so drift hits both alike.
	DirectP50ms float64 `json:"direct_p50_ms"`
	DirectP99ms float64 `json:"direct_p99_ms"`
	APIP50ms    float64 `json:"api_p50_ms"`
	APIP99ms    float64 `json:"api_p99_ms"`
	// AddedP50ms is the API's p50 minus the direct p50; PairedMedianms
	// the median of the differences within each pair, which the dev
	// server's bimodal dispatch time (one intent waits for its first
	// workflow task 5 ms, another 50) moves less.
	AddedP50ms     float64           `json:"added_p50_ms"`
	PairedMedianms float64           `json:"paired_median_ms"`
	Throughput     []throughputLevel `json:"throughput"`
}

// throughputLevel is decisions per second with that many clients, each
// submitting and watching one intent after another through the API.
type throughputLevel struct {
	Clients      int     `json:"clients"`
	Decisions    int     `json:"decisions"`
	Seconds      float64 `json:"seconds"`
	PerSecond    float64 `json:"decisions_per_second"`
	LatencyP50ms float64 `json:"latency_p50_ms"`
}

// benchAPI starts the API in this process (as `cfa serve` would), makes a
// token, and measures an auto intent through it beside the Temporal client.
func (c *cli) benchAPI(ctx context.Context, tc client.Client, store *db.Store, n int, text string, timeout time.Duration, levels []int, perLevel int) (apiBench, error) {
	logger, err := app.NewLoggerAt(zap.WarnLevel)
	if err != nil {
		return apiBench{}, err
	}
	srv, err := app.StartAPI(ctx, c.cfg, "127.0.0.1:0", logger)
	if err != nil {
		return apiBench{}, err
	}
	defer func() { _ = srv.Shutdown(context.WithoutCancel(ctx)) }()
	token, _, err := store.CreateToken(ctx, db.NewToken{Name: fmt.Sprintf("bench-%d", time.Now().UnixNano()), PrincipalID: "bench",
		PrincipalType: audit.PrincipalService, Roles: []identity.Role{identity.RoleSubmitter}, CreatedBy: "cfa-demo bench"})
	if err != nil {
		return apiBench{}, err
	}
	// gRPC over HTTP/2 without TLS, as a generated client in the same
	// network would call it.
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{Protocols: p, MaxIdleConnsPerHost: 64}}
	api := cfav1connect.NewIntentServiceClient(hc, "http://"+srv.Addr, connect.WithGRPC(),
		connect.WithInterceptors(api.Bearer(token)))
	svc := &service.Service{Temporal: tc}

	direct := func(ctx context.Context) error {
		id, err := svc.Submit(ctx, service.SubmitRequest{Text: text, SubmittedBy: "bench"})
		if err != nil {
			return err
		}
		var res workflows.IntentResult
		if err := tc.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
			return fmt.Errorf("intent %s: %w", id, err)
		}
		return autoOnly(text, res.Confirmation, string(res.DecisionState))
	}
	viaAPI := func(ctx context.Context) error {
		sub, err := api.SubmitIntent(ctx, connect.NewRequest(&cfav1.SubmitIntentRequest{Text: text}))
		if err != nil {
			return fmt.Errorf("SubmitIntent: %w", err)
		}
		stream, err := api.WatchIntent(ctx, connect.NewRequest(&cfav1.WatchIntentRequest{IntentId: sub.Msg.GetIntentId()}))
		if err != nil {
			return fmt.Errorf("WatchIntent: %w", err)
		}
		defer stream.Close()
		for stream.Receive() {
			if d := stream.Msg().GetDecided(); d != nil {
				if d.GetDecision() == nil {
					return fmt.Errorf("intent %s ended without a decision (%s)", d.GetIntentId(), d.GetExecutionStatus())
				}
				return nil
			}
			if stream.Msg().GetEscalation() != nil {
				return fmt.Errorf("intent %q asks for a confirmation; pick an auto-mode one with --text", text)
			}
		}
		if err := stream.Err(); err != nil {
			return fmt.Errorf("WatchIntent: %w", err)
		}
		return errors.New("WatchIntent ended without the decision")
	}
	timed := func(f func(context.Context) error) (time.Duration, error) {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		start := time.Now()
		err := f(rctx)
		return time.Since(start), err
	}
	for _, f := range []func(context.Context) error{direct, viaAPI} { // warm-up
		if _, err := timed(f); err != nil {
			return apiBench{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	var ds, as []time.Duration
	for i := range n {
		// Each goes first every other round: neither always follows the
		// other's tail (the worker's cache, the server's batching).
		first, second := direct, viaAPI
		if i%2 == 1 {
			first, second = viaAPI, direct
		}
		a, err := timed(first)
		if err != nil {
			return apiBench{}, err
		}
		b, err := timed(second)
		if err != nil {
			return apiBench{}, err
		}
		if i%2 == 1 {
			a, b = b, a
		}
		ds, as = append(ds, a), append(as, b)
	}
	out := apiBench{N: n, DirectP50ms: ms(percentile(ds, 50)), DirectP99ms: ms(percentile(ds, 99)),
		APIP50ms: ms(percentile(as, 50)), APIP99ms: ms(percentile(as, 99))}
	out.AddedP50ms = out.APIP50ms - out.DirectP50ms
	diffs := make([]time.Duration, len(ds))
	for i := range ds {
		diffs[i] = as[i] - ds[i]
	}
	out.PairedMedianms = ms(percentile(diffs, 50))

	for _, k := range levels {
		var next atomic.Int64
		var mu sync.Mutex
		var lat []time.Duration
		var firstErr error
		start := time.Now()
		var wg sync.WaitGroup
		for range k {
			wg.Go(func() {
				for next.Add(1) <= int64(perLevel) {
					d, err := timed(viaAPI)
					mu.Lock()
					if err != nil && firstErr == nil {
						firstErr = err
					}
					lat = append(lat, d)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			return out, fmt.Errorf("throughput with %d clients: %w", k, firstErr)
		}
		secs := time.Since(start).Seconds()
		out.Throughput = append(out.Throughput, throughputLevel{Clients: k, Decisions: perLevel, Seconds: secs,
			PerSecond: float64(perLevel) / secs, LatencyP50ms: ms(percentile(lat, 50))})
	}
	return out, nil
}

// autoOnly refuses a measured intent that was not decided in auto mode.
func autoOnly(text string, r *workflows.ConfirmationRecord, state string) error {
	if r == nil || r.Outcome != workflows.ConfirmationNotRequired {
		return fmt.Errorf("intent %q is not auto-mode (confirmation %s, decision %s); pick one with --text that needs no confirmation", text, describeConfirmation(r), state)
	}
	return nil
}
