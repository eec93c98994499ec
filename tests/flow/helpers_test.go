package flow_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"

	"github.com/contextualflux/cfa/db"
)

var (
	anyCtx = mock.Anything
	anyArg = mock.Anything
)

func uniqueID(t *testing.T) string {
	return "test-" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-") + "-" + uuid.NewString()[:8]
}

func startOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id}
}

func lockReqFor(intent, dataset string) db.LockRequest {
	return db.LockRequest{IntentID: intent, WorkflowID: "wf-" + intent, Scopes: []db.LockScope{{Dataset: dataset}}}
}
