package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/internal/confirmation"
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
}

// Notifier delivers notifications: always a structured log line, and a JSON
// POST when WebhookURL is set.
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.Notifier.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return invalid(fmt.Errorf("notification webhook %q: %w; fix CFA_NOTIFY_WEBHOOK_URL", a.Notifier.WebhookURL, err))
	}
	req.Header.Set("Content-Type", "application/json")
	client := a.Notifier.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post notification to %s: %w", a.Notifier.WebhookURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("notification webhook %s answered %s", a.Notifier.WebhookURL, resp.Status)
	}
	return nil
}
