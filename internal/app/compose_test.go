package app_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
)

// loadCompose loads docker-compose.yaml the way `docker compose config`
// does: schema validation, interpolation, normalization, the consistency
// check and environment resolution, with the repository root as the
// project directory. No host environment is passed in, so the result does
// not depend on the shell the tests run in.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	options, err := cli.NewProjectOptions(
		[]string{"../../docker-compose.yaml"},
		cli.WithWorkingDirectory("../.."),
		cli.WithName("cfa"),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	require.NoError(t, err)
	project, err := options.LoadProject(t.Context())
	require.NoError(t, err, "docker-compose.yaml is not a valid Compose file: `docker compose config` would refuse it too")
	return project
}

// TestComposeRunsTheWorkerWithLeastPrivilege: docker-compose.yaml sets the
// roles up and migrates once as the superuser, before the worker starts,
// and runs the worker as the worker role with its units on the sandbox
// login (docs/roles.md, ADR 0114).
func TestComposeRunsTheWorkerWithLeastPrivilege(t *testing.T) {
	t.Parallel()
	project := loadCompose(t)
	service := func(name string) types.ServiceConfig {
		s, err := project.GetService(name)
		require.NoError(t, err, "docker-compose.yaml needs a %s service", name)
		return s
	}
	user := func(s types.ServiceConfig, variable string) string {
		raw, ok := s.Environment[variable]
		require.True(t, ok && raw != nil, "service %s sets no %s", s.Name, variable)
		u, err := url.Parse(*raw)
		require.NoError(t, err, "%s %s", s.Name, variable)
		return u.User.Username()
	}

	setup := service("setup")
	require.Equal(t, "postgres", user(setup, "CFA_MIGRATE_DATABASE_URL"), "the setup logs in as the superuser")
	require.Regexp(t, `cfa roles setup && cfa migrate`, strings.Join(setup.Entrypoint, " "))

	worker := service("worker")
	require.Equal(t, db.DefaultRoles.Worker, user(worker, "DATABASE_URL"))
	require.Equal(t, db.DefaultRoles.Sandbox, user(worker, "CFA_SANDBOX_DATABASE_URL"))
	require.NotContains(t, worker.Environment, "CFA_MIGRATE_DATABASE_URL", "the worker holds no owner's login")
	require.Contains(t, worker.DependsOn, "setup", "the worker starts after the setup")
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, worker.DependsOn["setup"].Condition,
		"the worker waits for the roles and migrations, not just for the setup to start")
	// Proof the file was interpolated: with no environment the default applies.
	buildID := worker.Environment["CFA_WORKER_BUILD_ID"]
	require.NotNil(t, buildID, "the worker sets CFA_WORKER_BUILD_ID")
	require.Equal(t, "compose", *buildID)

	// `docker compose build` needs a Dockerfile in every build context.
	for name, s := range project.Services {
		if s.Build == nil {
			continue
		}
		dockerfile := s.Build.Dockerfile // normalization defaults it to "Dockerfile"
		if !filepath.IsAbs(dockerfile) {
			dockerfile = filepath.Join(s.Build.Context, dockerfile)
		}
		_, err := os.Stat(dockerfile)
		require.NoError(t, err, "service %s builds from %s: point build: at a directory holding that Dockerfile", name, dockerfile)
	}
}
