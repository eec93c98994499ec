package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"strings"
	"testing/fstest"
)

// Source is what a Bundle was loaded from, kept so that a
// policy_bundle_version an intent was signed under can be loaded again
// after the files on disk have changed (ADR 0122). FromSource loads it with
// the same loader as Load and LoadWith, so the Bundle it gives back is the
// one that was recorded: the same rules, rule locations, test tables,
// providers, approvers and lifecycle policy.
type Source struct {
	// Version is the bundle's effective policy_bundle_version.
	Version string `json:"version"`
	// Content is the canonical content the version names (ADR 0021): the
	// version's suffix is the first 12 hex digits of its SHA-256.
	Content []byte `json:"content"`
	// Prefix is how the bundle's directory appears in rule locations and
	// messages ("policies/" for the shipped bundle, "" for a directory).
	Prefix string `json:"prefix,omitempty"`
	// Files are the files of the bundle the loader read, by path:
	// bundle.yaml and every file it names.
	Files map[string]string `json:"files"`
	// Providers are the custom_rule_providers' rule files, in load order.
	Providers []ProviderSource `json:"providers,omitempty"`
}

// ProviderSource is the rule files a custom_rule_provider gave (RuleSource).
type ProviderSource struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	Files   map[string]string `json:"files"`
}

// Source returns what b was loaded from, for storing: FromSource(src)
// gives b back. A Bundle not made by Load, LoadWith, Default or
// FromSource has none.
func (b *Bundle) Source() (Source, error) {
	if b.src == nil || b.content == nil {
		return Source{}, fmt.Errorf("policy bundle %q was not loaded from files: it has no source to record", b.Version)
	}
	src := Source{Version: b.Version, Content: bytes.Clone(b.content), Prefix: b.src.Prefix, Files: maps.Clone(b.src.Files)}
	for _, p := range b.src.Providers {
		src.Providers = append(src.Providers, ProviderSource{Name: p.Name, Version: p.Version, Files: maps.Clone(p.Files)})
	}
	return src, nil
}

// ContentDigest is the hex SHA-256 of b's canonical content, whose first
// 12 digits end its version; "" for a Bundle not loaded from files.
func (b *Bundle) ContentDigest() string {
	if b.content == nil {
		return ""
	}
	return digest(b.content)
}

// FromSource loads the bundle recorded as src.Version from src alone,
// without reading any file. It refuses a source that does not load to that
// version with that content: the version names the content, so a source
// that was altered, or that this build's loader or facts schema (here
// FactsSchemaVersion) reads differently, is not the recorded bundle.
func FromSource(src Source) (*Bundle, error) {
	declared, hash, ok := strings.Cut(src.Version, "+")
	if !ok || declared == "" || len(hash) != 12 {
		return nil, invalidf("recorded policy bundle version %q is not <declared version>+<12 hex digits>", src.Version)
	}
	if got := digest(src.Content)[:12]; got != hash {
		return nil, invalidf("recorded policy bundle %s: its content hashes to %s, not to the version: the record was altered", src.Version, got)
	}
	if _, ok := src.Files[manifestFile]; !ok {
		return nil, invalidf("recorded policy bundle %s: the source has no %s", src.Version, manifestFile)
	}
	sources := make([]RuleSource, len(src.Providers))
	for i, p := range src.Providers {
		sources[i] = RuleSource{Name: p.Name, Version: p.Version, FS: memFS(p.Files)}
	}
	b, err := load(memFS(src.Files), src.Prefix, sources...)
	if err != nil {
		// From memory, every error is the source's: a missing file too.
		return nil, invalidf("load the recorded policy bundle %s: %w", src.Version, err)
	}
	if b.Version != src.Version || !bytes.Equal(b.content, src.Content) {
		return nil, invalidf("the recorded files of policy bundle %s load as %s (content sha256 %s, recorded %s): "+
			"the files were altered, or this build's loader or facts schema %s differs from the one that recorded them",
			src.Version, b.Version, b.ContentDigest(), digest(src.Content), FactsSchemaVersion)
	}
	return b, nil
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// manifestFile is the bundle's manifest, at the root of its files.
const manifestFile = "bundle.yaml"

// memFS is files as a read-only file system.
func memFS(files map[string]string) fs.FS {
	m := make(fstest.MapFS, len(files))
	for name, data := range files {
		m[name] = &fstest.MapFile{Data: []byte(data), Mode: 0o444}
	}
	return m
}

// recordReads wraps the bundle's and the providers' file systems so that
// each file the loader reads is kept, byte for byte, in the returned Source.
func recordReads(fsys fs.FS, prefix string, sources []RuleSource) (fs.FS, []RuleSource, *Source) {
	src := &Source{Prefix: prefix, Files: map[string]string{}}
	wrapped := make([]RuleSource, len(sources))
	for i, s := range sources {
		p := ProviderSource{Name: s.Name, Version: s.Version, Files: map[string]string{}}
		src.Providers = append(src.Providers, p)
		wrapped[i] = s
		if s.FS != nil {
			wrapped[i].FS = recordingFS{s.FS, p.Files}
		}
	}
	if fsys == nil {
		return nil, wrapped, src
	}
	return recordingFS{fsys, src.Files}, wrapped, src
}

// recordingFS keeps what ReadFile returns. The loader reads every file with
// fs.ReadFile; a file read another way would be missing from the Source,
// and FromSource would refuse it (the round-trip tests would fail).
type recordingFS struct {
	fs.FS
	files map[string]string
}

func (r recordingFS) ReadFile(name string) ([]byte, error) {
	data, err := fs.ReadFile(r.FS, name)
	if err == nil {
		r.files[name] = string(data)
	}
	return data, err
}

func (r recordingFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(r.FS, name) }

func (r recordingFS) Glob(pattern string) ([]string, error) { return fs.Glob(r.FS, pattern) }
