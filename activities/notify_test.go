package activities_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"

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

// TestNotifyGovernanceErrorsHoldNoSecret is finding 6 of issue 10: the
// activity's error is logged by the worker and recorded, with every error
// it wraps, in the Temporal history, so neither may carry the webhook's
// credentials (userinfo, token, path).
func TestNotifyGovernanceErrorsHoldNoSecret(t *testing.T) {
	t.Parallel()
	const secret = "Pl4ntedS3cret"
	hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		require.NoError(t, err)
		_ = conn.Close() // a transport error: the client wraps it in a *url.Error
	}))
	t.Cleanup(hangUp.Close) // after the parallel subtests
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(unavailable.Close)
	withSecrets := func(base string) string {
		u, err := url.Parse(base)
		require.NoError(t, err)
		u.User = url.UserPassword("hook", secret)
		u.Path = "/services/" + secret
		u.RawQuery = "token=" + secret
		return u.String()
	}
	for _, tc := range []struct {
		name, webhook, want string
	}{
		{"transport error", withSecrets(hangUp.URL), "post governance notification to the webhook at " + hangUp.URL},
		{"error status", withSecrets(unavailable.URL), "answered 503"},
		{"refused connection", "http://hook:" + secret + "@127.0.0.1:1/" + secret + "?token=" + secret, "connection refused"},
		{"invalid URL", "http://hook:" + secret + "%zz@example.com/?token=" + secret, "not a valid URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := &activities.Activities{Logger: zap.NewNop(), Notifier: &activities.Notifier{WebhookURL: tc.webhook}}
			err := a.NotifyGovernance(context.Background(), activities.Notification{IntentID: "i-secret"})
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), secret)
			// What Temporal records: the message of every error in the chain.
			f, merr := protojson.Marshal(temporal.GetDefaultFailureConverter().ErrorToFailure(err))
			require.NoError(t, merr)
			require.NotContains(t, string(f), secret)
		})
	}
}
