package app_test

import (
	"context"
	"debug/elf"
	"encoding/json"
	"go/version"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distribution/reference"
	"github.com/mattn/go-shellwords"
	"github.com/stretchr/testify/require"
)

// dockerStage is one FROM stage of the Dockerfile, with what the tests need.
type dockerStage struct {
	from, name string
	env        map[string]string // ENV, and ARG with a default
	workdir    string
	runs       []string // shell-form RUN commands, flags such as --mount removed
	copies     []dockerCopy
	copyFrom   []string // the --from of each COPY
	entrypoint []string
	cmd        []string
	user       string
	expose     []string
}

// dockerCopy is one COPY: its --from (empty: the build context), its
// sources and its destination.
type dockerCopy struct {
	from    string
	sources []string
	dest    string
}

// parseDockerfile reads the instructions the tests check. It knows the
// common shapes (continuation lines, comments, ENV k=v and ENV k v, ARG
// defaults, RUN --mount=...); what it does not know fails the test rather
// than being skipped.
func parseDockerfile(t *testing.T, file string) []*dockerStage {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var (
		stages []*dockerStage
		global = map[string]string{} // ARGs before the first FROM: only FROM sees them
		line   string
	)
	for raw := range strings.SplitSeq(string(b), "\n") {
		trimmed := strings.TrimSpace(raw)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue // blank lines and comments, also inside a continued instruction
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			line += cont + " "
			continue
		}
		line += trimmed
		instruction, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest = strings.TrimSpace(rest)
		line = ""
		if instruction == "" {
			continue
		}
		var stage *dockerStage
		if len(stages) > 0 {
			stage = stages[len(stages)-1]
		}
		switch strings.ToUpper(instruction) {
		case "FROM":
			fields := withoutFlags(strings.Fields(rest))
			require.NotEmpty(t, fields, "FROM without an image")
			s := &dockerStage{from: os.Expand(fields[0], func(k string) string { return global[k] }), env: map[string]string{}, workdir: "/"}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			stages = append(stages, s)
		case "ARG":
			for _, arg := range strings.Fields(rest) {
				k, v, ok := strings.Cut(arg, "=")
				switch {
				case stage == nil && ok:
					global[k] = v
				case stage != nil && ok:
					stage.env[k] = v
				case stage != nil && global[k] != "": // ARG k imports the global default
					stage.env[k] = global[k]
				}
			}
		case "ENV":
			require.NotNil(t, stage, "ENV before FROM")
			words, err := shellwords.Parse(rest)
			require.NoError(t, err, "ENV %s", rest)
			if len(words) > 0 && !strings.Contains(words[0], "=") { // legacy ENV key value
				_, value, _ := strings.Cut(rest, " ")
				stage.env[words[0]] = strings.TrimSpace(value)
				continue
			}
			for _, w := range words {
				k, v, _ := strings.Cut(w, "=")
				stage.env[k] = v
			}
		case "WORKDIR":
			require.NotNil(t, stage, "WORKDIR before FROM")
			if path.IsAbs(rest) {
				stage.workdir = rest
			} else {
				stage.workdir = path.Join(stage.workdir, rest)
			}
		case "RUN":
			require.NotNil(t, stage, "RUN before FROM")
			for strings.HasPrefix(rest, "--") { // --mount=..., --network=...
				_, rest, _ = strings.Cut(rest, " ")
				rest = strings.TrimSpace(rest)
			}
			require.False(t, strings.HasPrefix(rest, "[") && strings.Contains(rest, "go"),
				"RUN %s: write Go commands in the shell form, the test runs only those", rest)
			stage.runs = append(stage.runs, rest)
		case "COPY":
			require.NotNil(t, stage, "COPY before FROM")
			var c dockerCopy
			fields := strings.Fields(rest)
			for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
				if from, ok := strings.CutPrefix(fields[0], "--from="); ok {
					c.from = from
					stage.copyFrom = append(stage.copyFrom, from)
				}
				fields = fields[1:]
			}
			require.GreaterOrEqual(t, len(fields), 2, "COPY %s: a source and a destination", rest)
			require.False(t, strings.HasPrefix(fields[0], "["), "COPY %s: use the plain form", rest)
			c.sources, c.dest = fields[:len(fields)-1], fields[len(fields)-1]
			stage.copies = append(stage.copies, c)
		case "ENTRYPOINT":
			require.NotNil(t, stage, "ENTRYPOINT before FROM")
			require.NoError(t, json.Unmarshal([]byte(rest), &stage.entrypoint),
				"ENTRYPOINT %s: use the exec form, so signals reach the worker", rest)
		case "CMD":
			require.NotNil(t, stage, "CMD before FROM")
			require.NoError(t, json.Unmarshal([]byte(rest), &stage.cmd),
				"CMD %s: use the exec form, so signals reach the worker", rest)
		case "USER":
			require.NotNil(t, stage, "USER before FROM")
			stage.user = rest
		case "EXPOSE":
			require.NotNil(t, stage, "EXPOSE before FROM")
			stage.expose = append(stage.expose, strings.Fields(rest)...)
		}
	}
	require.NotEmpty(t, stages, "%s has no FROM", file)
	return stages
}

func withoutFlags(fields []string) []string {
	for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
		fields = fields[1:]
	}
	return fields
}

// goBuilds splits a RUN command on && into its commands and returns the go
// builds among them, each as its leading VAR=value assignments and its
// arguments. $VARs expand from the stage's environment, as the shell would.
func goBuilds(t *testing.T, run string, env map[string]string) (builds [][2][]string) {
	t.Helper()
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	var commands [][2][]string
	for rest := run; ; {
		p := shellwords.NewParser()
		p.ParseEnv, p.Getenv = true, getenv
		assigns, args, err := p.ParseWithEnvs(rest)
		require.NoError(t, err, "RUN %s", run)
		commands = append(commands, [2][]string{assigns, args})
		if p.Position < 0 {
			break
		}
		rest = string([]rune(rest)[p.Position:]) // Position counts runes
		require.True(t, strings.HasPrefix(rest, "&&"),
			"RUN %s: join commands with && only, the test cannot run %q", run, rest)
		rest = rest[2:]
	}
	for _, c := range commands {
		if len(c[1]) >= 2 && c[1][0] == "go" && c[1][1] == "build" {
			builds = append(builds, c)
		}
	}
	if len(builds) > 0 {
		require.Len(t, commands, len(builds),
			"RUN %s: give the go builds a RUN of their own, the test runs only go build commands", run)
	}
	return builds
}

var imageRelease = regexp.MustCompile(`^(?:(\d+(?:\.\d+)*)-)?([a-z]+)(?:-slim)?$`)

// imageTag returns the tag of a FROM image and fails unless it is pinned.
func imageTag(t *testing.T, image string) string {
	t.Helper()
	named, err := reference.ParseNormalizedNamed(image)
	require.NoError(t, err, "FROM %s", image)
	if _, ok := named.(reference.Digested); ok {
		if tagged, ok := named.(reference.Tagged); ok {
			return tagged.Tag()
		}
		return ""
	}
	tagged, ok := named.(reference.Tagged)
	require.True(t, ok, "FROM %s: pin a tag (or a digest), an untagged image is :latest", image)
	require.NotEqual(t, "latest", tagged.Tag(), "FROM %s: pin a release, :latest changes under the build", image)
	return tagged.Tag()
}

// dockerfile is the Dockerfile with the two stages the tests check.
type dockerfile struct {
	stages  []*dockerStage
	builder *dockerStage // the one stage that runs go build
	runtime *dockerStage // the last stage: the image
}

// goBuild is one go build command of the builder, with its environment.
type goBuild struct {
	run     string
	assigns []string // VAR=value before go
	args    []string // go build ... -o OUT PKG
	output  string   // the -o path, in the image
	pkg     string   // the last argument: the package built
}

// env is the build's value of k: the command's assignment, else the stage's.
func (b goBuild) env(stage *dockerStage, k string) (string, bool) {
	for _, a := range slices.Backward(b.assigns) {
		if name, v, _ := strings.Cut(a, "="); name == k {
			return v, true
		}
	}
	v, ok := stage.env[k]
	return v, ok
}

const repoRoot = "../.."

func loadDockerfile(t *testing.T) dockerfile {
	t.Helper()
	d := dockerfile{stages: parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))}
	for _, s := range d.stages {
		for _, run := range s.runs {
			if len(goBuilds(t, run, s.env)) > 0 {
				require.True(t, d.builder == nil || d.builder == s, "go builds in more than one stage: keep them in the builder")
				d.builder = s
			}
		}
	}
	require.NotNil(t, d.builder, "no stage runs go build")
	d.runtime = d.stages[len(d.stages)-1]
	require.NotSame(t, d.builder, d.runtime, "build in a stage of its own: the image should not carry the Go toolchain")
	require.NotEmpty(t, d.builder.name, "name the builder stage (FROM ... AS build) so the image copies from it by name")
	require.Contains(t, d.runtime.copyFrom, d.builder.name, "the final stage copies the binaries from the builder stage %q", d.builder.name)
	return d
}

// builds lists the builder's go build commands.
func (d dockerfile) builds(t *testing.T) []goBuild {
	t.Helper()
	var out []goBuild
	for _, run := range d.builder.runs {
		for _, c := range goBuilds(t, run, d.builder.env) {
			b := goBuild{run: run, assigns: c[0], args: c[1]}
			var outputs []string
			for i := 0; i < len(b.args); i++ {
				flag, value, inline := strings.Cut(b.args[i], "=")
				if flag != "-o" && flag != "--o" {
					continue
				}
				if !inline {
					require.Less(t, i+1, len(b.args), "RUN %s: -o without a path", run)
					i++
					value = b.args[i]
				}
				outputs = append(outputs, value)
			}
			require.Len(t, outputs, 1, "RUN %s: give each go build one -o, so the test can redirect its output", run)
			b.output = outputs[0]
			require.False(t, strings.HasSuffix(b.output, "/"), "RUN %s: name the binary in -o (-o /out/NAME), so the image copies it by name", run)
			if !path.IsAbs(b.output) {
				b.output = path.Join(d.builder.workdir, b.output)
			}
			b.pkg = b.args[len(b.args)-1]
			require.False(t, strings.HasPrefix(b.pkg, "-"), "RUN %s: end the go build with the package it builds", run)
			out = append(out, b)
		}
	}
	return out
}

// The binaries the image must hold, by the package they are built from.
var imageBinaries = map[string]string{
	"./cmd/cfa-worker": "cfa-worker", // the worker
	"./starter":        "cfa",        // the CLI, and the API (`cfa serve`)
}

// binDir is where the image puts them: on the default PATH, so compose
// commands and `docker compose run ... cfa ...` name them without a path.
const binDir = "/usr/local/bin"

// TestDockerfileImage checks what the image needs without building it: the
// images are pinned, the builder's Debian release is the runtime's (the
// binaries are cgo and link its glibc), its Go satisfies go.mod, cgo is on
// explicitly, the worker and the CLI are built and copied onto the PATH,
// and the image runs as a non-root numeric user with an exec-form command
// that is one of the binaries.
func TestDockerfileImage(t *testing.T) {
	t.Parallel()
	d := loadDockerfile(t)
	names := map[string]bool{}
	for _, s := range d.stages {
		if !names[s.from] { // FROM an earlier stage is not an image
			imageTag(t, s.from)
		}
		names[s.name] = true
	}

	// pg_query_go makes the binaries cgo, linked against the builder's
	// glibc: the runtime must be the same Debian release.
	builder, runtime := d.builder, d.runtime
	builderTag, runtimeTag := imageTag(t, builder.from), imageTag(t, runtime.from)
	b := imageRelease.FindStringSubmatch(builderTag)
	require.NotNil(t, b, "builder FROM %s: use a golang:<version>-<debian release> image", builder.from)
	require.Equal(t, "golang", reference.FamiliarName(mustNamed(t, builder.from)),
		"builder FROM %s: build on the official golang image", builder.from)
	r := imageRelease.FindStringSubmatch(runtimeTag)
	require.NotNil(t, r, "runtime FROM %s: use a debian:<release>-slim image", runtime.from)
	require.Equal(t, "debian", reference.FamiliarName(mustNamed(t, runtime.from)),
		"runtime FROM %s: run on debian:<release>-slim, whose glibc the binaries link", runtime.from)
	require.Equal(t, b[2], r[2],
		"the builder (%s) and the runtime (%s) differ in Debian release: a cgo binary needs the glibc it was linked against; use golang:<version>-%s",
		builder.from, runtime.from, r[2])

	// The builder's Go must satisfy go.mod: the golang image has GOTOOLCHAIN=local.
	mod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	require.NoError(t, err)
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	require.NotNil(t, goLine, "go.mod has no go line")
	require.NotEmpty(t, b[1], "builder FROM %s: pin the Go version in the tag", builder.from)
	imageGo, modGo := "go"+b[1], "go"+string(goLine[1])
	if version.Lang(imageGo) == imageGo { // golang:1.26 is the newest 1.26.x
		modGo = version.Lang(modGo)
	}
	require.GreaterOrEqual(t, version.Compare(imageGo, modGo), 0,
		"builder FROM %s is older than go.mod's go %s: raise the image's Go", builder.from, goLine[1])

	// Every build is cgo, said explicitly: the golang image happens to
	// default to CGO_ENABLED=1 only because it has gcc, and a builder
	// without one would silently build binaries that cannot parse SQL.
	built := map[string]string{} // binary name → its path in the builder
	for _, gb := range d.builds(t) {
		cgo, ok := gb.env(builder, "CGO_ENABLED")
		require.True(t, ok && cgo == "1", "RUN %s: set CGO_ENABLED=1 (ENV in the builder, or before go build): pg_query_go needs cgo", gb.run)
		if name, ok := imageBinaries[gb.pkg]; ok {
			require.Equal(t, name, path.Base(gb.output), "RUN %s: name the binary of %s %q", gb.run, gb.pkg, name)
		}
		built[path.Base(gb.output)] = gb.output
	}
	for pkg, name := range imageBinaries {
		require.Contains(t, built, name, "the builder does not build %s (%s): the image needs both the worker and the CLI", name, pkg)
	}

	// The runtime copies each of them from the builder onto the PATH.
	for name, out := range built {
		copied := slices.ContainsFunc(runtime.copies, func(c dockerCopy) bool {
			if c.from != builder.name || path.Clean(c.dest) != binDir {
				return false
			}
			return slices.ContainsFunc(c.sources, func(src string) bool {
				return path.Clean(src) == out || (strings.HasSuffix(src, "/") && path.Clean(src) == path.Dir(out))
			})
		})
		require.True(t, copied, "the image does not copy %s (%s) from the builder into %s/", name, out, binDir)
	}

	// Non-root, by number: Kubernetes' runAsNonRoot can check only a uid.
	require.NotEmpty(t, runtime.user, "the image runs as root: add USER <uid>:<gid>")
	uid, gid, _ := strings.Cut(runtime.user, ":")
	for _, id := range []string{uid, gid} {
		if id == "" {
			continue
		}
		n, err := strconv.Atoi(id)
		require.NoError(t, err, "USER %s: use a numeric uid:gid, which runAsNonRoot can check", runtime.user)
		require.NotZero(t, n, "USER %s: not root", runtime.user)
	}

	// The command: exec form (signals reach the process), one of the binaries.
	command := runtime.entrypoint
	if len(command) == 0 {
		command = runtime.cmd
	}
	require.NotEmpty(t, command, "the image has neither ENTRYPOINT nor CMD")
	require.Contains(t, built, path.Base(command[0]), "the image's command %v is not one of the binaries the builder makes", command)
	if !path.IsAbs(command[0]) {
		require.Equal(t, command[0], path.Base(command[0]), "the image's command %s: a name on the PATH, or an absolute path", command[0])
	}
}

// glibc is the shared libraries of Debian's libc6, all the runtime image has.
var glibc = []string{"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libresolv.so.2",
	"ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}

// TestDockerfileBuildsWithItsOwnSettings runs the Dockerfile's own go build
// commands, with its own environment, on the host's Go (no Docker engine
// runs here), and runs what they build as the image would: the binaries
// load no shared library beyond glibc, `cfa --help` answers, the worker
// starts from an empty directory with the embedded catalog and bundle (and
// stops at the Postgres it cannot reach), and every `cfa` command
// docker-compose.yaml runs or documents exists with the flags it uses.
func TestDockerfileBuildsWithItsOwnSettings(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binaries; run without -short")
	}
	d := loadDockerfile(t)
	out := t.TempDir()
	bin := map[string]string{} // binary name → the built file
	for _, gb := range d.builds(t) {
		args := slices.Clone(gb.args)
		target := filepath.Join(out, filepath.FromSlash(gb.output))
		require.NoError(t, os.MkdirAll(filepath.Dir(target), 0o755))
		for i, a := range args { // write to the temporary directory instead of the image's path
			switch {
			case a == "-o" || a == "--o":
				args[i+1] = target
			case strings.HasPrefix(a, "-o=") || strings.HasPrefix(a, "--o="):
				flag, _, _ := strings.Cut(a, "=")
				args[i] = flag + "=" + target
			}
		}
		cmd := exec.CommandContext(t.Context(), args[0], args[1:]...)
		cmd.Dir = repoRoot // WORKDIR holds the module: COPY . .
		cmd.Env = os.Environ()
		for k, v := range d.builder.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Env = append(cmd.Env, gb.assigns...)
		start := time.Now()
		output, err := cmd.CombinedOutput()
		require.NoError(t, err, "the Dockerfile's %s fails:\n%s", strings.Join(gb.args, " "), output)
		info, err := os.Stat(target)
		require.NoError(t, err, "%s produced no binary", strings.Join(gb.args, " "))
		require.True(t, info.Mode().IsRegular() && info.Size() > 0, "%s produced an empty binary", target)
		bin[path.Base(gb.output)] = target
		t.Logf("%s: %s in %s", strings.Join(gb.args, " "), path.Base(gb.output), time.Since(start).Round(time.Millisecond))
	}

	t.Run("only glibc is loaded", func(t *testing.T) {
		for name, file := range bin {
			f, err := elf.Open(file)
			require.NoError(t, err)
			libs, err := f.ImportedLibraries()
			f.Close()
			require.NoError(t, err)
			for _, l := range libs {
				require.Contains(t, glibc, l, "%s loads %s, which %s does not have: link it statically or install it in the runtime stage", name, l, d.runtime.from)
			}
		}
	})

	// The image's environment: no repository around, nothing of the host.
	empty := t.TempDir()
	imageEnv := func(extra ...string) []string {
		return append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + empty}, extra...)
	}
	run := func(t *testing.T, timeout time.Duration, env []string, name string, args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin[name], args...)
		cmd.Dir, cmd.Env = empty, env
		output, err := cmd.CombinedOutput()
		require.NoError(t, ctx.Err(), "%s %s did not end within %s:\n%s", name, strings.Join(args, " "), timeout, output)
		return string(output), err
	}

	t.Run("cfa --help", func(t *testing.T) {
		output, err := run(t, 30*time.Second, imageEnv(), "cfa", "--help")
		require.NoError(t, err, "cfa --help:\n%s", output)
		require.Contains(t, output, "migrate")
	})

	t.Run("the worker starts on the embedded catalog and bundle", func(t *testing.T) {
		// Port 1 refuses at once: the worker stops at Postgres (or
		// Temporal), after it has loaded the catalog and the bundle.
		output, err := run(t, time.Minute, imageEnv(
			"DATABASE_URL=postgres://cfa_worker@127.0.0.1:1/cfa?sslmode=disable&connect_timeout=5",
			"TEMPORAL_ADDRESS=127.0.0.1:1", "CFA_METRICS_LISTEN=127.0.0.1:0", "OTEL_SDK_DISABLED=true",
		), "cfa-worker")
		require.Error(t, err, "cfa-worker ran with no Postgres:\n%s", output)
		require.NotContains(t, output, "load data catalog", "the worker does not find its catalog in an empty directory")
		require.NotContains(t, output, "load policy bundle", "the worker does not find its policy bundle in an empty directory")
		require.Contains(t, output, "127.0.0.1:1", "the worker stopped before it reached for Postgres or Temporal:\n%s", output)
		lines := strings.Split(strings.TrimSpace(output), "\n")
		t.Logf("cfa-worker stopped as expected: %s", lines[len(lines)-1])
	})

	t.Run("the cfa commands of docker-compose.yaml exist", func(t *testing.T) {
		for _, c := range composeCLICommands(t) {
			args := c.args[1:] // after "cfa"
			output, err := run(t, 30*time.Second, imageEnv(), "cfa", append(slices.Clone(args), "--help")...)
			require.NoError(t, err, "docker-compose.yaml %s `%s`, which the CLI does not know:\n%s", c.where, strings.Join(c.args, " "), output)
			for _, a := range args {
				if !strings.HasPrefix(a, "--") {
					continue
				}
				flag, _, _ := strings.Cut(a, "=")
				require.Regexp(t, `(?m)^\s+(-\w, )?`+regexp.QuoteMeta(flag)+`\b`, output,
					"docker-compose.yaml %s `%s`, but `cfa %s --help` has no %s", c.where, strings.Join(c.args, " "), strings.Join(nonFlags(args), " "), flag)
			}
			t.Logf("%s: %s", c.where, strings.Join(c.args, " "))
		}
	})
}

// nonFlags keeps the arguments that are not flags.
func nonFlags(args []string) []string {
	return slices.DeleteFunc(slices.Clone(args), func(a string) bool { return strings.HasPrefix(a, "-") })
}

func mustNamed(t *testing.T, image string) reference.Named {
	t.Helper()
	named, err := reference.ParseNormalizedNamed(image)
	require.NoError(t, err, "FROM %s", image)
	return named
}

// TestDockerignoreKeepsWhatTheBuildReads: no file the image's go builds
// read (go.mod, go.sum, and each package's Go, cgo and embedded files) is
// left out of the build context by .dockerignore, whose edits the build
// test on the host cannot see.
func TestDockerignoreKeepsWhatTheBuildReads(t *testing.T) {
	t.Parallel()
	d := loadDockerfile(t)
	b, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	require.NoError(t, err)
	var patterns []string
	for line := range strings.SplitSeq(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		require.False(t, strings.HasPrefix(line, "!") || strings.Contains(line, "**"),
			".dockerignore %s: the test knows plain patterns only", line)
		patterns = append(patterns, path.Clean(strings.TrimPrefix(line, "/")))
	}
	excluded := func(file string) string { // the pattern that leaves file out, or ""
		for dir := file; dir != "."; dir = path.Dir(dir) {
			for _, p := range patterns {
				if ok, err := path.Match(p, dir); err == nil && ok {
					return p
				}
			}
		}
		return ""
	}

	var pkgs []string
	for _, gb := range d.builds(t) {
		pkgs = append(pkgs, gb.pkg)
	}
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	cmd := exec.CommandContext(t.Context(), "go", append([]string{"list", "-deps", "-f",
		`{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .CgoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}{{end}}`}, pkgs...)...)
	cmd.Dir = root
	out, err := cmd.Output()
	require.NoError(t, err, "go list %s", strings.Join(pkgs, " "))
	files := []string{"go.mod", "go.sum"}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		dir, err := filepath.Rel(root, fields[0])
		require.NoError(t, err)
		for _, f := range fields[1:] {
			files = append(files, path.Join(filepath.ToSlash(dir), f))
		}
	}
	require.Greater(t, len(files), 10, "go list found the packages the image builds")
	for _, f := range files {
		p := excluded(f)
		require.Empty(t, p, ".dockerignore leaves %s out of the build context (pattern %s), but the image's go builds read it", f, p)
	}
}
