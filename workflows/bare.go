package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// BareWorkflowName is the baseline workflow `cfa bench` measures beside the
// intent workflow: one regular no-op activity, nothing else.
const BareWorkflowName = "BareWorkflow"

// BareWorkflow runs one no-op regular activity: the floor of what any
// workflow costs on this Temporal deployment.
func BareWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteActivity(ctx, a.Noop).Get(ctx, nil)
}
