package activities_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
)

func TestNotifyGovernancePostsToWebhook(t *testing.T) {
	t.Parallel()
	got := make(chan activities.Notification, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n activities.Notification
		require.NoError(t, json.NewDecoder(r.Body).Decode(&n))
		got <- n
	}))
	defer srv.Close()
	a := &activities.Activities{Logger: zap.NewNop(), Notifier: &activities.Notifier{WebhookURL: srv.URL}}
	err := a.NotifyGovernance(context.Background(), activities.Notification{
		Notify: "governance_team", IntentID: "i-1", Reason: "human_confirmation_timeout", AuditEvent: "HUMAN_ESCALATION_TIMEOUT",
	})
	require.NoError(t, err)
	n := <-got
	require.Equal(t, "governance_team", n.Notify)
	require.Equal(t, "i-1", n.IntentID)
}

func TestNotifyGovernanceReportsAFailingWebhook(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	a := &activities.Activities{Logger: zap.NewNop(), Notifier: &activities.Notifier{WebhookURL: srv.URL}}
	err := a.NotifyGovernance(context.Background(), activities.Notification{IntentID: "i-2"})
	require.ErrorContains(t, err, "503")
}

func TestNotifyGovernanceWithoutWebhookOnlyLogs(t *testing.T) {
	t.Parallel()
	a := &activities.Activities{Logger: zap.NewNop()}
	require.NoError(t, a.NotifyGovernance(context.Background(), activities.Notification{IntentID: "i-3"}))
}
