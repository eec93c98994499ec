package activities

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPermissionOutsideScope(t *testing.T) {
	t.Parallel()
	sources := []string{"clientes", "nfe"}
	cases := []struct {
		msg  string
		want bool
	}{
		{"permission denied for table nfe", false},              // a source: the permission was revoked
		{"permission denied for table silver_documentos", true}, // the target itself: never granted
		{"permission denied for table produtos", true},          // unrelated
		{"permission denied for schema gold", false},            // not a table: not judged here
		{"deadlock detected", false},
	}
	for _, c := range cases {
		require.Equal(t, c.want, permissionOutsideScope(c.msg, sources), c.msg)
	}
	require.False(t, permissionOutsideScope("permission denied for table x", nil), "without the plan's sources nothing is judged forbidden")
}
