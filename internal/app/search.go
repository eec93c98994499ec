package app

import (
	"context"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/contextualflux/cfa/workflows"
)

// EnsureSearchAttributes makes sure the namespace has the intents' custom
// search attributes (workflows.SearchAttributes, Keyword): an upsert of an
// unknown attribute would fail every workflow task of every intent. It
// adds the missing ones when the worker's identity may (the dev server, an
// operator's), and otherwise says what to run.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list the search attributes of namespace %s: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, n := range workflows.SearchAttributeNames() {
		want := enumspb.INDEXED_VALUE_TYPE_KEYWORD
		if workflows.SearchAttributes[n] == "KeywordList" {
			want = enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST
		}
		t, ok := have.GetCustomAttributes()[n]
		switch {
		case !ok:
			missing[n] = want
		case t != want:
			return fmt.Errorf("search attribute %s of namespace %s is %s, not %s: remove it or rename it, then restart the worker", n, namespace, t, workflows.SearchAttributes[n])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing}); err != nil {
		var cmds []string
		for _, n := range workflows.SearchAttributeNames() {
			if _, ok := missing[n]; ok {
				cmds = append(cmds, "temporal operator search-attribute create --namespace "+namespace+" --name "+n+" --type "+workflows.SearchAttributes[n])
			}
		}
		return fmt.Errorf("namespace %s lacks the search attributes intents set, and the worker could not add them (%w): run %s", namespace, err, strings.Join(cmds, "; "))
	}
	return nil
}
