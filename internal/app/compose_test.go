package app_test

import (
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/db"
)

// TestComposeRunsTheWorkerWithLeastPrivilege: docker-compose.yaml sets the
// roles up and migrates once as the superuser, before the worker starts,
// and runs the worker as the worker role with its units on the sandbox
// login (docs/roles.md, ADR 0114).
func TestComposeRunsTheWorkerWithLeastPrivilege(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docker-compose.yaml")
	require.NoError(t, err)
	var compose struct {
		Services map[string]struct {
			Entrypoint  []string                     `yaml:"entrypoint"`
			Environment map[string]string            `yaml:"environment"`
			DependsOn   map[string]map[string]string `yaml:"depends_on"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(b, &compose))
	user := func(service, variable string) string {
		raw := compose.Services[service].Environment[variable]
		u, err := url.Parse(raw)
		require.NoError(t, err, "%s %s", service, variable)
		return u.User.Username()
	}

	setup, ok := compose.Services["setup"]
	require.True(t, ok, "a setup service")
	require.Equal(t, "postgres", user("setup", "CFA_MIGRATE_DATABASE_URL"), "the setup logs in as the superuser")
	script := strings.Join(setup.Entrypoint, " ")
	require.Regexp(t, `cfa roles setup && cfa migrate`, script)

	worker := compose.Services["worker"]
	require.Equal(t, db.DefaultRoles.Worker, user("worker", "DATABASE_URL"))
	require.Equal(t, db.DefaultRoles.Sandbox, user("worker", "CFA_SANDBOX_DATABASE_URL"))
	require.NotContains(t, worker.Environment, "CFA_MIGRATE_DATABASE_URL", "the worker holds no owner's login")
	require.Equal(t, "service_completed_successfully", worker.DependsOn["setup"]["condition"])
}
