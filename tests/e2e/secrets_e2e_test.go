package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
)

// TestNoSecretInLogsOrHistory is finding 6 of issue 10. It plants a secret
// in the webhook URL (password, path and token) and in the DATABASE_URL
// password (harmless with trust auth), runs the real cfa-worker binary on
// the dev server, lets a human escalation time out so governance is
// notified through a webhook that keeps failing (a transport error, then
// 503s, until the retries are spent), and greps the worker's log and every
// string and payload of the workflow history for the secret. It also
// starts the worker once on a keyword-form DATABASE_URL it cannot use and
// greps its startup error.
func TestNoSecretInLogsOrHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds the worker and runs the Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	secret := fmt.Sprintf("Pl4nted%dS3cret", time.Now().UnixNano())

	bin := filepath.Join(t.TempDir(), "cfa-worker")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../../cmd/cfa-worker").CombinedOutput()
	require.NoError(t, err, "build the worker: %s", out)

	// The startup error of a keyword-form DATABASE_URL (port 1 refuses).
	startup := exec.CommandContext(ctx, bin)
	startup.Env = append(os.Environ(), "DATABASE_URL=host=127.0.0.1 port=1 user=postgres password="+secret+" dbname=cfa")
	out, err = startup.CombinedOutput()
	require.Error(t, err, "the worker cannot start on port 1: %s", out)
	require.Contains(t, string(out), "password=xxxxx")
	require.NotContains(t, string(out), secret)

	var attempts, sawCredentials atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pw, ok := r.BasicAuth(); ok && pw == secret && r.URL.Query().Get("token") == secret {
			sawCredentials.Add(1)
		}
		if attempts.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack() // a transport error
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(hook.Close)
	webhook, err := url.Parse(hook.URL)
	require.NoError(t, err)
	webhook.User = url.UserPassword("governance", secret)
	webhook.Path = "/services/" + secret
	webhook.RawQuery = "channel=governance&token=" + secret

	d, _ := testenv.DataPlaneDB(ctx, t, "e2e_secrets", nil)
	databaseURL, err := url.Parse(d.WorkerURL) // the worker's login, as in production
	require.NoError(t, err)
	secrets := []string{secret}
	if pw, ok := databaseURL.User.Password(); ok {
		secrets = append(secrets, pw) // the server needs the real one: it must not leak either
	} else {
		databaseURL.User = url.UserPassword(databaseURL.User.Username(), secret)
	}

	srv := testenv.StartDevServer(ctx, t)
	logPath := filepath.Join(t.TempDir(), "worker.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	worker := exec.Command(bin)
	worker.Env = append(os.Environ(), "DATABASE_URL="+databaseURL.String(), "TEMPORAL_ADDRESS="+srv.FrontendHostPort(),
		"CFA_NOTIFY_WEBHOOK_URL="+webhook.String(), "CFA_TTL_SWEEP_EVERY=24h", "CFA_METRICS_LISTEN=127.0.0.1:0")
	worker.Stdout, worker.Stderr = logFile, logFile
	require.NoError(t, worker.Start())
	t.Cleanup(func() { // no worker outlives the test
		_ = worker.Process.Signal(syscall.SIGKILL)
		_ = worker.Wait()
		_ = logFile.Close()
	})

	svc := &service.Service{Temporal: srv.Client(), Store: db.New(d.Worker)}
	id, err := svc.Submit(ctx, service.SubmitRequest{Text: goldWrite, SubmittedBy: "e2e", EscalationTimeoutSeconds: 1})
	require.NoError(t, err)
	res, err := svc.Wait(ctx, id, 200*time.Millisecond, nil, nil)
	require.NoError(t, err)
	require.Equal(t, decision.Blocked, res.DecisionState, "the escalation timed out")
	require.GreaterOrEqual(t, attempts.Load(), int32(2), "the notification was attempted and retried")
	require.Positive(t, sawCredentials.Load(), "the worker used the configured webhook, credentials included")

	// The history: every string and every payload's bytes, decoded.
	var history strings.Builder
	it := srv.Client().GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		var text strings.Builder
		allText(e.ProtoReflect(), &text)
		for _, s := range secrets {
			require.NotContains(t, text.String(), s, "history event %d (%s) holds a secret", e.GetEventId(), e.GetEventType())
		}
		history.WriteString(text.String())
	}
	require.Contains(t, history.String(), "NotifyGovernance")
	require.Contains(t, history.String(), "(CFA_NOTIFY_WEBHOOK_URL) answered 503", "the failed notification is in the history")

	// The worker's log, after it has logged the failed notification.
	var log string
	testenv.WaitFor(t, 30*time.Second, "the failed notification in the worker's log", func() bool {
		b, err := os.ReadFile(logPath)
		require.NoError(t, err)
		log = string(b)
		return strings.Contains(log, "governance notification failed")
	})
	require.Contains(t, log, `"notify_webhook":"`+hook.URL+`"`, "the worker names its webhook by scheme and host")
	require.Contains(t, log, "post governance notification to the webhook at "+hook.URL, "the transport error is logged")
	for _, s := range secrets {
		require.NotContains(t, log, s, "the worker's log holds a secret")
	}
}

// allText appends every string and bytes value of m, recursively: payloads
// are bytes, which a JSON encoding would hide in base64.
func allText(m protoreflect.Message, b *strings.Builder) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				value(fd, l.Get(i), b)
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				b.WriteString(k.String())
				b.WriteByte('\n')
				value(fd.MapValue(), mv, b)
				return true
			})
		default:
			value(fd, v, b)
		}
		return true
	})
}

func value(fd protoreflect.FieldDescriptor, v protoreflect.Value, b *strings.Builder) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		b.WriteString(v.String())
	case protoreflect.BytesKind:
		b.Write(v.Bytes())
	case protoreflect.MessageKind, protoreflect.GroupKind:
		allText(v.Message(), b)
		return
	default:
		return
	}
	b.WriteByte('\n')
}
