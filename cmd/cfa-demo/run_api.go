package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// demoAPI is scenario (q): an orchestrator (a SERVICE principal with a
// token) submits an intent through `cfa serve` over plain JSON, as curl
// would, watches it as JSON lines, and maria approves its escalation with
// her own token. The receipts name both callers.
func (c *cli) demoAPI(ctx context.Context, cfa string) ([]string, error) {
	w := c.out
	fmt.Fprintf(w, "-- (q) through the API (cfa serve): an orchestrator submits, maria approves with her token\n")
	tokens := map[string]string{}
	for _, t := range []struct{ name, principal, typ, roles string }{
		{"airflow-demo", "airflow", "SERVICE", "submitter,reader"},
		{"maria-demo", "maria", "HUMAN", "approver,auditor"},
	} {
		args := []string{"token", "create", "--name", t.name, "--principal", t.principal, "--type", t.typ}
		for _, r := range strings.Split(t.roles, ",") {
			args = append(args, "--role", r)
		}
		fmt.Fprintf(w, "  $ cfa %s\n", strings.Join(args, " "))
		out, err := exec.CommandContext(ctx, cfa, append(args, "-o", "json")...).Output()
		if err != nil {
			return nil, fmt.Errorf("cfa token create: %w", exitDetail(err))
		}
		var created struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(out, &created); err != nil || created.Token == "" {
			return nil, fmt.Errorf("cfa token create printed no token: %s", out)
		}
		tokens[t.principal] = created.Token
		fmt.Fprintf(w, "    token for %s %s (%s): cfa_… (shown once)\n", t.typ, t.principal, t.roles)
	}

	base, stop, err := startServe(ctx, cfa)
	if err != nil {
		return nil, err
	}
	defer stop()
	fmt.Fprintf(w, "  $ cfa serve --listen %s   (log: .data/api.log)\n", strings.TrimPrefix(base, "http://"))

	call := func(token, method string, body any, out any) error {
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/cfa.v1.IntentService/"+method, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: HTTP %d: %s", method, resp.StatusCode, bytes.TrimSpace(data))
		}
		return json.Unmarshal(data, out)
	}

	const text = "reconcile nfe with clientes and persist to silver"
	// One key per run: the dev server keeps the intents of earlier runs,
	// and a key names one intent for good.
	key := fmt.Sprintf("demo-q-%d", time.Now().Unix())
	fmt.Fprintf(w, "  $ curl -H 'Authorization: Bearer $AIRFLOW' -H 'Content-Type: application/json' \\\n      -d '{\"text\": %q, \"dryRun\": true, \"idempotencyKey\": %q}' %s/cfa.v1.IntentService/SubmitIntent\n", text, key, base)
	var sub struct {
		IntentID string `json:"intentId"`
	}
	if err := call(tokens["airflow"], "SubmitIntent", map[string]any{"text": text, "dryRun": true, "idempotencyKey": key}, &sub); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "  intent_id: %s\n", sub.IntentID)
	// A retried request (same idempotency key) starts nothing new.
	var again struct {
		IntentID string `json:"intentId"`
		Created  bool   `json:"created"`
	}
	if err := call(tokens["airflow"], "SubmitIntent", map[string]any{"text": text, "dryRun": true, "idempotencyKey": key}, &again); err != nil {
		return nil, err
	}
	var failures []string
	if again.IntentID != sub.IntentID || again.Created {
		failures = append(failures, fmt.Sprintf("(q) the retried submission started %s (created %v), want %s again", again.IntentID, again.Created, sub.IntentID))
	}
	fmt.Fprintf(w, "  retried with the same idempotencyKey: the same intent, created=%v\n", again.Created)

	fmt.Fprintf(w, "  $ curl -N -H 'Authorization: Bearer $AIRFLOW' %s/v1/intents/%s/watch\n", base, sub.IntentID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/intents/"+sub.IntentID+"/watch", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tokens["airflow"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	defer resp.Body.Close()
	var decided map[string]any
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var ev struct {
			Stage *struct {
				Stage, Summary string
			} `json:"stage"`
			Escalation *struct {
				Mode      string   `json:"mode"`
				Approvers []string `json:"approvers"`
			} `json:"escalation"`
			Decided map[string]any `json:"decided"`
			Error   map[string]any `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("watch: a line is not JSON: %s", sc.Text())
		}
		switch {
		case ev.Stage != nil:
			fmt.Fprintf(w, "  [%s] %s\n", ev.Stage.Stage, ev.Stage.Summary)
		case ev.Escalation != nil:
			fmt.Fprintf(w, "  pending %s confirmation, approvers %s\n", ev.Escalation.Mode, strings.Join(ev.Escalation.Approvers, ", "))
			fmt.Fprintf(w, "  $ curl -H 'Authorization: Bearer $MARIA' -H 'Content-Type: application/json' \\\n      -d '{\"intentId\": \"%s\", \"reason\": \"masking reviewed\"}' %s/cfa.v1.IntentService/ApproveEscalation\n", sub.IntentID, base)
			var ans map[string]any
			if err := call(tokens["maria"], "ApproveEscalation", map[string]any{"intentId": sub.IntentID, "reason": "masking reviewed"}, &ans); err != nil {
				return nil, err
			}
			fmt.Fprintf(w, "    %v by %v\n", ans["outcome"], ans["by"])
		case ev.Decided != nil:
			decided = ev.Decided
		case ev.Error != nil:
			return nil, fmt.Errorf("watch ended with %v", ev.Error)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	state := ""
	if d, ok := decided["decision"].(map[string]any); ok {
		state, _ = d["state"].(string)
	}
	fmt.Fprintf(w, "  decision: %s\n", state)
	if state != "approved" {
		failures = append(failures, fmt.Sprintf("(q) got %q, want approved", state))
	}

	// The audit trail, read with maria's auditor role: the receipts name
	// the callers the tokens authenticated.
	var trail struct {
		Receipts []struct {
			Context map[string]string `json:"context"`
			Actor   struct {
				ID          string `json:"id"`
				Type        string `json:"type"`
				AuthContext string `json:"authContext"`
			} `json:"actor"`
		} `json:"receipts"`
	}
	if err := call(tokens["maria"], "GetAuditTrail", map[string]any{"intentId": sub.IntentID}, &trail); err != nil {
		return nil, err
	}
	actors := map[string]string{}
	for _, r := range trail.Receipts {
		et := r.Context["event_type"]
		if et == "INTENT_RECEIVED" || et == "HUMAN_CONFIRMATION_APPROVED" {
			actors[et] = r.Actor.ID + " " + r.Actor.Type + " " + r.Actor.AuthContext
			fmt.Fprintf(w, "  audit #%s %-28s actor %s\n", r.Context["seq"], et, actors[et])
		}
	}
	if actors["INTENT_RECEIVED"] != "airflow SERVICE api:token:airflow-demo" || actors["HUMAN_CONFIRMATION_APPROVED"] != "maria HUMAN api:token:maria-demo" {
		failures = append(failures, fmt.Sprintf("(q) the receipts do not name the API's callers: %v", actors))
	}
	// A call without a token is refused (and audited).
	if err := call("", "GetIntent", map[string]any{"intentId": sub.IntentID}, &map[string]any{}); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		failures = append(failures, fmt.Sprintf("(q) a call without a token was not refused: %v", err))
	} else {
		fmt.Fprintf(w, "  without a token: %s\n", firstLine(err.Error()))
	}
	fmt.Fprintln(w)
	return failures, nil
}

// startServe runs `cfa serve` on a free local port, logging to
// .data/api.log, and returns its base URL once /healthz answers, and how
// to stop it (SIGTERM, then wait).
func startServe(ctx context.Context, cfa string) (string, func(), error) {
	if err := os.MkdirAll(".data", 0o755); err != nil {
		return "", nil, err
	}
	logf, err := os.Create(filepath.Join(".data", "api.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(cfa, "serve", "--listen", "127.0.0.1:0")
	cmd.Stdout = logf
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", nil, fmt.Errorf("start cfa serve: %w", err)
	}
	exited := make(chan error, 1)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if rest, ok := strings.CutPrefix(line, "cfa API on "); ok {
				select {
				case addr <- strings.Fields(rest)[0]:
				default:
				}
			}
		}
		exited <- cmd.Wait()
	}()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(35 * time.Second):
			_ = cmd.Process.Kill()
		}
		logf.Close()
	}
	select {
	case base := <-addr:
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			resp, err := http.Get(base + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return base, stop, nil
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		stop()
		return "", nil, errors.New("cfa serve did not become healthy in 20 s; see .data/api.log")
	case err := <-exited:
		logf.Close()
		return "", nil, fmt.Errorf("cfa serve exited (%v); see .data/api.log", err)
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, errors.New("cfa serve did not start in 30 s; see .data/api.log")
	case <-ctx.Done():
		stop()
		return "", nil, ctx.Err()
	}
}

func exitDetail(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}
