package app_test

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/mattn/go-shellwords"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/workflows"
)

const composeFile = "docker-compose.yaml"

// loadCompose loads docker-compose.yaml the way `docker compose config`
// does: schema validation, interpolation, normalization, the consistency
// check and environment resolution, with the repository root as the
// project directory, with the given profiles on ("*": all of them). No host
// environment is passed in, so the result does not depend on the shell the
// tests run in.
func loadCompose(t *testing.T, profiles ...string) *types.Project {
	t.Helper()
	options, err := cli.NewProjectOptions(
		[]string{filepath.Join(repoRoot, composeFile)},
		cli.WithWorkingDirectory(repoRoot),
		cli.WithName("cfa"),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
		cli.WithProfiles(profiles),
	)
	require.NoError(t, err)
	project, err := options.LoadProject(t.Context())
	require.NoError(t, err, "docker-compose.yaml is not a valid Compose file: `docker compose config` would refuse it too")
	return project
}

func composeService(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	require.NoError(t, err, "docker-compose.yaml needs a %s service", name)
	return s
}

// env is a service's value of variable, failing when it is not set.
func env(t *testing.T, s types.ServiceConfig, variable string) string {
	t.Helper()
	raw, ok := s.Environment[variable]
	require.True(t, ok && raw != nil && *raw != "", "service %s sets no %s", s.Name, variable)
	return *raw
}

// The services of `docker compose up`, and those of the observability profile.
var (
	composeCore          = []string{"postgres", "temporal", "setup", "worker", "api"}
	composeObservability = []string{"prometheus", "grafana"}
)

// cfaServices are the services that run the image the Dockerfile builds.
var cfaServices = []string{"setup", "worker", "api"}

// TestComposeServices: `docker compose up` runs Postgres, Temporal, the
// one-shot setup, the worker and the API; Prometheus and Grafana come with
// the observability profile. No service has a fixed container name, which
// would stop `--scale` and a second checkout's project.
func TestComposeServices(t *testing.T) {
	t.Parallel()
	require.ElementsMatch(t, composeCore, loadCompose(t).ServiceNames())
	all := loadCompose(t, "*")
	require.ElementsMatch(t, append(slices.Clone(composeCore), composeObservability...), all.ServiceNames())
	for name, s := range all.Services {
		require.Empty(t, s.ContainerName, "service %s: no container_name, compose names the containers of a scaled service", name)
	}
}

// TestComposePorts: every published port is on 127.0.0.1 (this Postgres
// trusts every login, the dev server has no authentication), each once,
// the same port inside and out; the worker publishes none, so
// `docker compose up --scale worker=3` starts three.
func TestComposePorts(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, "*")
	want := map[string][]uint32{
		"postgres":   {5432},
		"temporal":   {7233, 8233},
		"api":        {8480},
		"prometheus": {9090},
		"grafana":    {3000},
	}
	hostPorts := map[string]string{}
	for name, s := range p.Services {
		var got []uint32
		for _, port := range s.Ports {
			require.Equal(t, "127.0.0.1", port.HostIP, "service %s publishes %d on every interface: publish it on 127.0.0.1", name, port.Target)
			require.Equal(t, strconv.FormatUint(uint64(port.Target), 10), port.Published,
				"service %s: publish %d as itself, the documented URLs use it", name, port.Target)
			if other, ok := hostPorts[port.Published]; ok {
				t.Fatalf("services %s and %s both publish host port %s", other, name, port.Published)
			}
			hostPorts[port.Published] = name
			got = append(got, port.Target)
		}
		require.ElementsMatch(t, want[name], got, "service %s publishes these ports", name)
	}
	worker := composeService(t, p, "worker")
	require.Empty(t, worker.Ports, "the worker publishes no port: its replicas would clash on the host")
}

// TestComposeDependencies: the setup waits for a healthy Postgres; the
// worker and the API wait for the setup to have succeeded (roles and
// migrations: the worker refuses a schema it does not know) and for a
// healthy Temporal. Every service waited for as healthy has a healthcheck.
func TestComposeDependencies(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, "*")
	want := map[string]map[string]string{
		"setup":  {"postgres": types.ServiceConditionHealthy},
		"worker": {"setup": types.ServiceConditionCompletedSuccessfully, "temporal": types.ServiceConditionHealthy},
		"api":    {"setup": types.ServiceConditionCompletedSuccessfully, "temporal": types.ServiceConditionHealthy},
	}
	for name, deps := range want {
		s := composeService(t, p, name)
		for dep, condition := range deps {
			require.Contains(t, s.DependsOn, dep, "service %s starts after %s", name, dep)
			require.Equal(t, condition, s.DependsOn[dep].Condition, "service %s waits for %s to be %s", name, dep, condition)
		}
	}
	for name, s := range p.Services {
		for dep, d := range s.DependsOn {
			if d.Condition != types.ServiceConditionHealthy {
				continue
			}
			hc := composeService(t, p, dep).HealthCheck
			require.True(t, hc != nil && !hc.Disable && len(hc.Test) > 0,
				"service %s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
		}
	}
	require.NotEqual(t, "always", composeService(t, p, "setup").Restart, "the setup is one-shot")
}

// TestComposeKeepsStateOnVolumes: Postgres's data and the dev server's
// SQLite file are on named volumes, so `docker compose down` and up again
// keep the registry, the audit trail and the workflows in flight; every
// file mounted from the repository exists (Docker would mount a missing
// one as an empty directory).
func TestComposeKeepsStateOnVolumes(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, "*")
	volumeAt := func(s types.ServiceConfig, dir string) bool {
		return slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Source != "" &&
				(v.Target == dir || strings.HasPrefix(dir, strings.TrimSuffix(v.Target, "/")+"/"))
		})
	}
	require.True(t, volumeAt(composeService(t, p, "postgres"), "/var/lib/postgresql/data"),
		"Postgres keeps its data on a named volume at /var/lib/postgresql/data")

	temporal := composeService(t, p, "temporal")
	dbFile := flagValue(temporal.Command, "--db-filename", "-f")
	require.NotEmpty(t, dbFile, "the dev server keeps its state in a file (--db-filename), not in memory")
	require.True(t, volumeAt(temporal, path.Dir(dbFile)), "the dev server's %s is on a named volume", dbFile)

	for name, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			require.True(t, v.ReadOnly, "service %s mounts %s writable: mount configuration read-only", name, v.Source)
			if path.Ext(v.Target) == "" {
				continue // a directory: Docker creates it when missing
			}
			_, err := os.Stat(v.Source)
			require.NoError(t, err, "service %s mounts %s, which does not exist", name, v.Source)
		}
	}
}

// TestComposeBuildsTheDockerfile: every service that builds, builds the
// repository's Dockerfile (whose builder has cgo on, checked by
// TestDockerfileImage) into one image, which the setup, the worker and the
// API run.
func TestComposeBuildsTheDockerfile(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, "*")
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	d := loadDockerfile(t)
	images := map[string]bool{}
	for name, s := range p.Services {
		if s.Build == nil {
			require.NotContains(t, cfaServices, name, "service %s runs CFA: build it from the Dockerfile", name)
			continue
		}
		require.Contains(t, cfaServices, name, "service %s builds an image: which?", name)
		require.Equal(t, root, s.Build.Context, "service %s builds from the repository root, the Dockerfile's COPY . .", name)
		dockerfile := s.Build.Dockerfile // normalization defaults it to "Dockerfile"
		if !filepath.IsAbs(dockerfile) {
			dockerfile = filepath.Join(s.Build.Context, dockerfile)
		}
		require.Equal(t, filepath.Join(root, "Dockerfile"), dockerfile, "service %s builds the Dockerfile the tests check", name)
		require.Empty(t, s.Build.Target, "service %s builds the Dockerfile's last stage, the image", name)
		for _, gb := range d.builds(t) {
			cgo, _ := gb.env(d.builder, "CGO_ENABLED")
			require.Equal(t, "1", cgo, "service %s builds the Dockerfile, whose %s needs CGO_ENABLED=1", name, strings.Join(gb.args, " "))
		}
		require.NotEmpty(t, s.Image, "service %s: name the image, so compose builds it once for every CFA service", name)
		images[s.Image] = true
	}
	require.Len(t, images, 1, "the CFA services run one image: %v", images)
}

// TestComposeCommands: the setup sets the roles up and migrates, the
// worker runs cfa-worker and the API `cfa serve` on every interface of its
// container, on the port it publishes and its healthcheck asks /healthz on.
// (TestDockerfileBuildsWithItsOwnSettings checks these commands against
// the built CLI.)
func TestComposeCommands(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	setup := composeService(t, p, "setup")
	require.Empty(t, setup.Entrypoint, "the setup keeps the image's entrypoint")
	require.Equal(t, []string{"/bin/sh", "-c", "cfa roles setup && cfa migrate"}, []string(setup.Command))

	worker := composeService(t, p, "worker")
	require.Empty(t, worker.Entrypoint)
	require.Equal(t, []string{"cfa-worker"}, []string(worker.Command))

	api := composeService(t, p, "api")
	require.Empty(t, api.Entrypoint)
	require.Equal(t, []string{"cfa", "serve", "--listen", "0.0.0.0:8480"}, []string(api.Command))
	_, port, err := net.SplitHostPort(flagValue(api.Command, "--listen"))
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(api.Ports, func(pc types.ServicePortConfig) bool {
		return strconv.FormatUint(uint64(pc.Target), 10) == port
	}), "the API listens on %s: publish that port", port)
	require.NotNil(t, api.HealthCheck, "the API has a healthcheck: a load balancer and `docker compose up --wait` need one")
	check := strings.Join(api.HealthCheck.Test, " ")
	require.Equal(t, "CMD", api.HealthCheck.Test[0], "the API's healthcheck in the exec form")
	require.Contains(t, check, "/healthz", "the API's healthcheck asks GET /healthz")
	require.Contains(t, check, "/"+port+" ", "the API's healthcheck asks the port it listens on")
	require.Equal(t, "bash", api.HealthCheck.Test[1], "the image (debian) has bash and no curl: the healthcheck uses bash's /dev/tcp")
}

// TestComposeTemporal: the dev server listens beyond its container, keeps
// the intents' search attributes (the same as `make dev` and the tests:
// workflows.DevServerArgs) and answers a health check; the CFA services
// reach it at its service name and port.
func TestComposeTemporal(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	temporal := composeService(t, p, "temporal")
	require.Equal(t, "0.0.0.0", flagValue(temporal.Command, "--ip"), "the dev server listens on every interface of its container")
	require.Subset(t, pairs(temporal.Command), pairs(workflows.DevServerArgs()),
		"the dev server registers the intents' search attributes (workflows.DevServerArgs)")
	require.Contains(t, strings.Join(temporal.HealthCheck.Test, " "), "operator cluster health")
	for _, name := range []string{"worker", "api"} {
		host, port, err := net.SplitHostPort(env(t, composeService(t, p, name), "TEMPORAL_ADDRESS"))
		require.NoError(t, err)
		require.Equal(t, "temporal", host, "service %s reaches Temporal at its service name", name)
		require.Equal(t, "7233", port, "service %s reaches the dev server's frontend port", name)
	}
}

// envNames are the variables a CFA service may set: those the code reads
// (a string literal that is exactly the name, in a non-test Go file of the
// module), and OTEL_* (the OpenTelemetry SDK reads them).
var envName = regexp.MustCompile(`^(CFA_[A-Z0-9_]+|DATABASE_URL|TEMPORAL_[A-Z0-9_]+)$`)

func codeEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(repoRoot, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			switch e.Name() {
			case ".git", "bin", ".data", "testdata", "tests", "examples", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if v, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(v) {
					names[v] = true
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	return names
}

// TestComposeEnvironment: each CFA service sets what the code needs in a
// container (whose defaults name 127.0.0.1): where Postgres is, as which
// role, where Temporal is; the worker's metrics listen beyond its
// container. Every variable a CFA service sets is one the code reads (a
// misspelt one would silently keep the default), and the worker and the
// API load the same catalog and bundle.
func TestComposeEnvironment(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	postgres := composeService(t, p, "postgres")
	database := env(t, postgres, "POSTGRES_DB")
	login := func(s types.ServiceConfig, variable string) string {
		u, err := url.Parse(env(t, s, variable))
		require.NoError(t, err, "%s %s", s.Name, variable)
		require.Equal(t, "postgres", u.Hostname(), "service %s %s: Postgres is the postgres service", s.Name, variable)
		require.Equal(t, "5432", u.Port(), "service %s %s", s.Name, variable)
		require.Equal(t, "/"+database, u.Path, "service %s %s: the database POSTGRES_DB creates", s.Name, variable)
		return u.User.Username()
	}

	setup := composeService(t, p, "setup")
	require.Equal(t, "postgres", login(setup, "CFA_MIGRATE_DATABASE_URL"), "the setup logs in as the superuser")

	worker := composeService(t, p, "worker")
	require.Equal(t, db.DefaultRoles.Worker, login(worker, "DATABASE_URL"))
	require.Equal(t, db.DefaultRoles.Sandbox, login(worker, "CFA_SANDBOX_DATABASE_URL"))
	env(t, worker, "TEMPORAL_NAMESPACE")
	host, port, err := net.SplitHostPort(env(t, worker, "CFA_METRICS_LISTEN"))
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0", host, "the worker's metrics listen beyond its container, for Prometheus")
	require.Contains(t, worker.Expose, port, "the worker exposes its metrics port to the compose network")

	api := composeService(t, p, "api")
	require.Equal(t, db.DefaultRoles.Worker, login(api, "DATABASE_URL"))
	env(t, api, "TEMPORAL_NAMESPACE")
	for _, s := range []types.ServiceConfig{worker, api} {
		require.NotContains(t, s.Environment, "CFA_MIGRATE_DATABASE_URL", "service %s holds no owner's login", s.Name)
	}
	require.Equal(t, env(t, worker, "TEMPORAL_NAMESPACE"), env(t, api, "TEMPORAL_NAMESPACE"))
	for _, v := range []string{"CFA_CATALOG_DIR", "CFA_POLICY_DIR"} {
		require.Equal(t, worker.Environment[v], api.Environment[v], "the worker and the API load the same %s", v)
	}
	// Proof the file was interpolated: with no environment the default applies.
	require.Equal(t, "compose", env(t, worker, "CFA_WORKER_BUILD_ID"))

	read := codeEnvNames(t)
	var unread []string
	for _, name := range cfaServices {
		for variable := range composeService(t, p, name).Environment {
			if !strings.HasPrefix(variable, "OTEL_") && !read[variable] {
				unread = append(unread, name+": "+variable)
			}
		}
	}
	slices.Sort(unread)
	require.Empty(t, unread, "docker-compose.yaml sets variables no Go source of the module reads (misspelt, or not read yet)")
}

// TestComposePrometheus: deploy/prometheus/prometheus.yml scrapes every
// replica of the worker and of the API (by DNS, on the ports they listen on)
// and the dev server's metrics port.
func TestComposePrometheus(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, "*")
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "prometheus", "prometheus.yml"))
	require.NoError(t, err)
	var cfg struct {
		ScrapeConfigs []struct {
			JobName      string `yaml:"job_name"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Type  string   `yaml:"type"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal(b, &cfg))
	targets := map[string]bool{} // service:port
	for _, sc := range cfg.ScrapeConfigs {
		for _, d := range sc.DNSSDConfigs {
			require.Equal(t, "A", d.Type, "job %s: Docker's DNS answers A records", sc.JobName)
			for _, n := range d.Names {
				targets[net.JoinHostPort(n, strconv.Itoa(d.Port))] = true
			}
		}
		for _, s := range sc.StaticConfigs {
			for _, tg := range s.Targets {
				targets[tg] = true
			}
		}
	}
	_, workerPort, err := net.SplitHostPort(env(t, composeService(t, p, "worker"), "CFA_METRICS_LISTEN"))
	require.NoError(t, err)
	_, apiPort, err := net.SplitHostPort(flagValue(composeService(t, p, "api").Command, "--listen"))
	require.NoError(t, err)
	temporal := composeService(t, p, "temporal")
	temporalPort := flagValue(temporal.Command, "--metrics-port")
	require.Contains(t, temporal.Expose, temporalPort, "the dev server exposes its metrics port to the compose network")
	require.Equal(t, map[string]bool{
		net.JoinHostPort("worker", workerPort):     true,
		net.JoinHostPort("api", apiPort):           true,
		net.JoinHostPort("temporal", temporalPort): true,
	}, targets)
	for tg := range targets {
		host, _, _ := net.SplitHostPort(tg)
		composeService(t, p, host)
	}
	prom := composeService(t, p, "prometheus")
	require.True(t, slices.ContainsFunc(prom.Volumes, func(v types.ServiceVolumeConfig) bool {
		return strings.HasSuffix(v.Source, filepath.Join("deploy", "prometheus", "prometheus.yml")) && v.Target == flagValue(prom.Command, "--config.file")
	}), "Prometheus reads deploy/prometheus/prometheus.yml")
}

// flagValue is the value of the first of names in args (--flag value or
// --flag=value), or "".
func flagValue(args []string, names ...string) string {
	for i, a := range args {
		for _, n := range names {
			if a == n && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, n+"="); ok {
				return v
			}
		}
	}
	return ""
}

// pairs lists "--flag value" pairs of args.
func pairs(args []string) []string {
	var out []string
	for i := 0; i+1 < len(args); i++ {
		if strings.HasPrefix(args[i], "-") && !strings.HasPrefix(args[i+1], "-") {
			out = append(out, args[i]+" "+args[i+1])
		}
	}
	return out
}

// cliCommand is one `cfa ...` command line docker-compose.yaml runs or
// documents.
type cliCommand struct {
	where string // "runs in service X", "documents"
	args  []string
}

// composeDocumented matches a command line of the file's comments that runs
// the CLI in a service: `docker compose exec api cfa token create ...`.
var composeDocumented = regexp.MustCompile(`^#\s+docker compose (?:exec|run --rm) (\S+) (cfa .*)$`)

// composeCLICommands lists the `cfa` commands docker-compose.yaml runs in
// its services (their command, or each command of a /bin/sh -c script
// joined by &&) and those its comments show.
func composeCLICommands(t *testing.T) []cliCommand {
	t.Helper()
	p := loadCompose(t, "*")
	var out []cliCommand
	add := func(where, line string) {
		args, err := shellwords.Parse(line)
		require.NoError(t, err, "%s: %s", where, line)
		if len(args) > 0 && args[0] == "cfa" {
			out = append(out, cliCommand{where: where, args: args})
		}
	}
	for _, name := range cfaServices {
		s := composeService(t, p, name)
		where := "runs in service " + name
		if len(s.Command) == 3 && s.Command[0] == "/bin/sh" && s.Command[1] == "-c" {
			for line := range strings.SplitSeq(s.Command[2], "&&") {
				add(where, strings.TrimSpace(line))
			}
			continue
		}
		require.NotEmpty(t, s.Command, "service %s: say which binary it runs", name)
		if s.Command[0] == "cfa" {
			out = append(out, cliCommand{where: where, args: s.Command})
		}
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, composeFile))
	require.NoError(t, err)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if m := composeDocumented.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
			require.Contains(t, cfaServices, m[1], "docker-compose.yaml documents `%s` in service %s, which does not run the image", m[2], m[1])
			composeService(t, p, m[1])
			add("documents", m[2])
		}
	}
	require.NotEmpty(t, out)
	return out
}

// TestComposeDocumentsTheCLI: the compose file shows how to run the CLI in
// the image, token creation included (the commands themselves are checked
// against the built CLI by TestDockerfileBuildsWithItsOwnSettings).
func TestComposeDocumentsTheCLI(t *testing.T) {
	t.Parallel()
	var documented []string
	for _, c := range composeCLICommands(t) {
		if c.where == "documents" {
			documented = append(documented, strings.Join(nonFlags(c.args), " "))
		}
	}
	require.True(t, slices.ContainsFunc(documented, func(s string) bool { return strings.HasPrefix(s, "cfa token create") }),
		"docker-compose.yaml shows how to create an API token inside the image: %v", documented)
}
