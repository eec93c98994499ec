package app_test

import (
	"encoding/json"
	"go/version"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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
	copyFrom   []string // the --from of each COPY
	entrypoint []string
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
			for _, f := range strings.Fields(rest) {
				if from, ok := strings.CutPrefix(f, "--from="); ok {
					stage.copyFrom = append(stage.copyFrom, from)
				}
			}
		case "ENTRYPOINT":
			require.NotNil(t, stage, "ENTRYPOINT before FROM")
			require.NoError(t, json.Unmarshal([]byte(rest), &stage.entrypoint),
				"ENTRYPOINT %s: use the exec form, so signals reach the worker", rest)
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

// TestDockerfileBuildsWithItsOwnSettings: the Dockerfile's images are
// pinned, its builder matches the runtime the cgo binaries need, and its
// own go build commands, with its own environment, build the binaries. No
// Docker engine runs here, so the commands run on the host's Go.
func TestDockerfileBuildsWithItsOwnSettings(t *testing.T) {
	t.Parallel()
	const root = "../.."
	stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	names := map[string]bool{}
	var builder *dockerStage
	for _, s := range stages {
		if !names[s.from] { // FROM an earlier stage is not an image
			imageTag(t, s.from)
		}
		names[s.name] = true
		for _, run := range s.runs {
			if len(goBuilds(t, run, s.env)) > 0 {
				require.True(t, builder == nil || builder == s, "go builds in more than one stage: keep them in the builder")
				builder = s
			}
		}
	}
	require.NotNil(t, builder, "no stage runs go build")
	runtime := stages[len(stages)-1]
	require.NotSame(t, builder, runtime, "build in a stage of its own: the image should not carry the Go toolchain")
	require.Contains(t, runtime.copyFrom, builder.name, "the final stage copies the binaries from the builder stage %q", builder.name)

	// pg_query_go makes the binaries cgo, linked against the builder's
	// glibc: the runtime must be the same Debian release.
	builderTag, runtimeTag := imageTag(t, builder.from), imageTag(t, runtime.from)
	b := imageRelease.FindStringSubmatch(builderTag)
	require.NotNil(t, b, "builder FROM %s: use a golang:<version>-<debian release> image", builder.from)
	require.Equal(t, "golang", reference.FamiliarName(mustNamed(t, builder.from)),
		"builder FROM %s: build on the official golang image", builder.from)
	r := imageRelease.FindStringSubmatch(runtimeTag)
	require.NotNil(t, r, "runtime FROM %s: use a debian:<release>-slim image", runtime.from)
	require.Equal(t, b[2], r[2],
		"the builder (%s) and the runtime (%s) differ in Debian release: a cgo binary needs the glibc it was linked against; use golang:<version>-%s",
		builder.from, runtime.from, r[2])

	// The builder's Go must satisfy go.mod: the golang image has GOTOOLCHAIN=local.
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
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

	if testing.Short() {
		t.Skip("builds the binaries; run without -short")
	}
	out := t.TempDir()
	var built []string
	for _, run := range builder.runs {
		for _, c := range goBuilds(t, run, builder.env) {
			assigns, args := c[0], append([]string(nil), c[1]...)
			// Write to the temporary directory instead of the image's paths.
			var outputs []string
			for i := 0; i < len(args); i++ {
				flag, value, inline := strings.Cut(args[i], "=")
				if flag != "-o" && flag != "--o" {
					continue
				}
				if !inline {
					require.Less(t, i+1, len(args), "RUN %s: -o without a path", run)
					i++
					value = args[i]
				}
				dir := strings.HasSuffix(value, "/") // go build names the binary in it
				if !path.IsAbs(value) {
					value = path.Join(builder.workdir, value)
				}
				target := filepath.Join(out, filepath.FromSlash(value))
				if dir {
					require.NoError(t, os.MkdirAll(target, 0o755))
					target += string(filepath.Separator)
				} else {
					require.NoError(t, os.MkdirAll(filepath.Dir(target), 0o755))
				}
				if inline {
					args[i] = flag + "=" + target
				} else {
					args[i] = target
				}
				outputs = append(outputs, target)
			}
			require.Len(t, outputs, 1, "RUN %s: give each go build one -o, so the test can redirect its output", run)

			cmd := exec.CommandContext(t.Context(), args[0], args[1:]...)
			cmd.Dir = root // WORKDIR holds the module: COPY . .
			cmd.Env = os.Environ()
			for k, v := range builder.env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			cmd.Env = append(cmd.Env, assigns...)
			output, err := cmd.CombinedOutput()
			require.NoError(t, err, "the Dockerfile's %s fails:\n%s", strings.Join(c[1], " "), output)

			target := outputs[0]
			if strings.HasSuffix(target, string(filepath.Separator)) {
				entries, err := os.ReadDir(target)
				require.NoError(t, err)
				require.NotEmpty(t, entries, "%s produced nothing", strings.Join(c[1], " "))
				for _, e := range entries {
					built = append(built, e.Name())
				}
				continue
			}
			info, err := os.Stat(target)
			require.NoError(t, err, "%s produced no binary", strings.Join(c[1], " "))
			require.True(t, info.Mode().IsRegular() && info.Size() > 0, "%s produced an empty binary", target)
			built = append(built, filepath.Base(target))
		}
	}
	if len(runtime.entrypoint) > 0 {
		require.Contains(t, built, path.Base(runtime.entrypoint[0]),
			"the image's ENTRYPOINT %s is not one of the binaries the builder makes", runtime.entrypoint[0])
	}
	t.Logf("built %s", strings.Join(built, ", "))
}

func mustNamed(t *testing.T, image string) reference.Named {
	t.Helper()
	named, err := reference.ParseNormalizedNamed(image)
	require.NoError(t, err, "FROM %s", image)
	return named
}
