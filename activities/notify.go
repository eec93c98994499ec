package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/redact"
)

// Notification tells governance_team that an escalation was left unanswered
// (whitepaper 5.1b fallback_on_timeout.notify).
type Notification struct {
	Notify        string                 `json:"notify"` // governance_team
	IntentID      string                 `json:"intent_id"`
	CorrelationID string                 `json:"correlation_id"`
	Reason        string                 `json:"reason"`      // human_confirmation_timeout
	AuditEvent    string                 `json:"audit_event"` // HUMAN_ESCALATION_TIMEOUT
	Mode          string                 `json:"confirmation_mode"`
	Triggers      []confirmation.Trigger `json:"triggers"`
	Deadline      time.Time              `json:"deadline"`
	// Approvers may answer an open escalation (escalation_opened).
	Approvers []string `json:"approvers,omitempty"`
	// Text is the intent as submitted.
	Text string `json:"intent,omitempty"`
	// Answer says how to answer an open escalation.
	Answer string `json:"answer,omitempty"`
	// Signature is the signature shown (confirmation.Show): the one a soft
	// confirmation proceeds with (soft_confirmation), or the one an
	// escalation asks to confirm (escalation_opened).
	Signature string `json:"signature,omitempty"`
	// Interpretations are the competing interpretations an approver may
	// choose one of (escalation_opened; docs/adr/0135).
	Interpretations []string `json:"competing_interpretations,omitempty"`
	// SkillID and PausedSchedules tell of a skill that left service
	// (skill_out_of_service: demoted or retired, ADR 0129).
	SkillID         string   `json:"skill_id,omitempty"`
	PausedSchedules []string `json:"paused_schedules,omitempty"`
}

// Notifier delivers notifications: always a structured log line, and a JSON
// POST when WebhookURL is set. WebhookURL is the worker's configuration
// (CFA_NOTIFY_WEBHOOK_URL), never an activity argument, and no error or log
// line names more of it than its scheme and host: the activity's errors are
// logged by the worker and recorded, with their whole chain, in the Temporal
// history, and a webhook's userinfo, query or path is often its credential
// (docs/adr/0111).
type Notifier struct {
	WebhookURL string
	Client     *http.Client
}

// NotifyGovernance sends n; a failing webhook is retried by the activity's
// retry policy, the log line is written on every attempt.
func (a *Activities) NotifyGovernance(ctx context.Context, n Notification) error {
	a.log(n.IntentID, "confirmation_orchestrator").Warn("governance notification",
		zap.String("notify", n.Notify), zap.String("reason", n.Reason), zap.String("audit_event", n.AuditEvent),
		zap.String("confirmation_mode", n.Mode), zap.Time("deadline", n.Deadline))
	if a.Notifier == nil || a.Notifier.WebhookURL == "" {
		return nil
	}
	body, err := json.Marshal(n)
	if err != nil {
		return invalid(fmt.Errorf("encode notification: %w", err))
	}
	target := redact.Origin(a.Notifier.WebhookURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.Notifier.WebhookURL, bytes.NewReader(body))
	if err != nil {
		// url.Parse's error quotes the whole URL: it is not wrapped.
		return invalid(errors.New("CFA_NOTIFY_WEBHOOK_URL is not a valid URL (not shown: it may hold a credential); fix it and restart the worker"))
	}
	req.Header.Set("Content-Type", "application/json")
	client := a.Notifier.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post governance notification to the webhook at %s (CFA_NOTIFY_WEBHOOK_URL): %w", target, withoutURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("governance notification webhook at %s (CFA_NOTIFY_WEBHOOK_URL) answered %s", target, resp.Status)
	}
	return nil
}

// withoutURL drops the *url.Error the HTTP client wraps every failure in:
// it quotes the request URL (query and path included), and Temporal records
// every error of the chain. What it wraps (a dial error, a timeout, EOF)
// names the host at most.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return withoutURL(ue.Err)
	}
	return err
}
