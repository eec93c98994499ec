package activities

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
)

// queueStore answers every acquisition with the same holders ahead, one
// row per scope, as db.Store does.
type queueStore struct {
	Storage
	ahead []db.LockHolder
}

func (q *queueStore) AcquireScopes(context.Context, db.LockRequest) (db.LockState, error) {
	return db.LockState{Ahead: q.ahead}, nil
}

// countingTemporal says every holder is running and counts the questions.
type countingTemporal struct {
	client.Client
	asked map[string]int
}

func (c *countingTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	c.asked[id]++
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}}, nil
}

// TestAcquireAsksTemporalOncePerHolder is finding 2 of issue 10: a holder
// of 30 partitions blocks 30 scope rows; recovery asks Temporal about it
// once, and the queue entry names it once.
func TestAcquireAsksTemporalOncePerHolder(t *testing.T) {
	var ahead []db.LockHolder
	for _, holder := range []string{"intent-a", "intent-b"} {
		for day := 1; day <= 30; day++ {
			ahead = append(ahead, db.LockHolder{IntentID: holder, WorkflowID: holder, Held: holder == "intent-a",
				Scope: db.LockScope{Dataset: "silver_documentos", Partition: fmt.Sprintf("2026-01-%02d", day)}})
		}
	}
	tc := &countingTemporal{asked: map[string]int{}}
	a := &Activities{Store: &queueStore{ahead: ahead}, Temporal: tc, Logger: zap.NewNop()}
	var out Locked
	ids, err := a.acquire(context.Background(), "intent-c", db.LockRequest{IntentID: "intent-c"}, &out)
	require.NoError(t, err)
	require.Equal(t, []string{"intent-a", "intent-b"}, ids)
	require.Equal(t, map[string]int{"intent-a": 1, "intent-b": 1}, tc.asked)
	require.False(t, out.Held)
}
