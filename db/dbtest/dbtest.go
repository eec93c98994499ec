// Package dbtest gives each test package a Postgres database of its own:
// created from TEST_DATABASE_URL, its roles set up (db.SetupRoles with
// db.DefaultRoles: server-wide, shared by every test database), migrated as
// the owner role, and dropped when the package's tests end with its
// sandbox roles. It never touches the server's existing databases.
//
//	var testDB *dbtest.Database
//
//	func TestMain(m *testing.M) {
//		os.Exit(dbtest.Main(m, "activities", func(d *dbtest.Database) { testDB = d }))
//	}
//
// A test that needs one connection runs in dbtest.Tx, rolled back at cleanup;
// a test that needs several connections, or commits, uses the package
// database (or dbtest.New for a database of its own).
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contextualflux/cfa/db"
)

// DefaultURL is the server used when TEST_DATABASE_URL is not set. Its
// database is only used to create and drop the test databases.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Database is a throwaway database and pools connected to it.
type Database struct {
	Name string
	// URL and Pool log in as TEST_DATABASE_URL's role, a superuser: for
	// what a test does around the system (seeding, tampering, checking).
	URL  string
	Pool *pgxpool.Pool
	// WorkerURL and Worker log in as db.DefaultRoles.Worker, as the worker
	// does in production: a store over Worker holds what the worker holds.
	WorkerURL string
	Worker    *pgxpool.Pool
	// SandboxURL logs in as db.DefaultRoles.Sandbox, the units' login.
	SandboxURL string

	adminURL string
}

// Create makes a new database named cfa_test_<pkg>_<random> on the server of
// TEST_DATABASE_URL and, if migrate is true, applies every migration.
func Create(ctx context.Context, pkg string, migrate bool) (*Database, error) {
	adminURL := os.Getenv("TEST_DATABASE_URL")
	if adminURL == "" {
		adminURL = DefaultURL
	}
	adminCfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		return nil, fmt.Errorf("parse TEST_DATABASE_URL: %w", err)
	}
	name := "cfa_test_" + sanitize(pkg) + "_" + randomSuffix()
	// Refuse anything but a URL we can re-point: never migrate the admin database.
	testURL, err := withDatabase(adminURL, name)
	if err != nil {
		return nil, err
	}

	admin, err := pgx.ConnectConfig(ctx, adminCfg)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Postgres at %s:%d: %w: start it or set TEST_DATABASE_URL", adminCfg.Host, adminCfg.Port, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create test database %s: %w: the TEST_DATABASE_URL role needs CREATEDB", name, err)
	}

	d := &Database{Name: name, URL: testURL, adminURL: adminURL,
		WorkerURL: withUser(testURL, db.DefaultRoles.Worker), SandboxURL: withUser(testURL, db.DefaultRoles.Sandbox)}
	if err := db.SetupRoles(ctx, d.URL, db.DefaultRoles); err != nil {
		_ = d.drop(ctx)
		return nil, err
	}
	if migrate {
		if err := db.MigrateURL(ctx, d.URL, db.DefaultRoles); err != nil {
			_ = d.drop(ctx)
			return nil, err
		}
	}
	for _, p := range []struct {
		pool **pgxpool.Pool
		url  string
	}{{&d.Pool, d.URL}, {&d.Worker, d.WorkerURL}} {
		poolCfg, err := pgxpool.ParseConfig(p.url)
		if err != nil {
			_ = d.Drop(ctx)
			return nil, fmt.Errorf("parse test database URL: %w", err)
		}
		poolCfg.MaxConns = 32 // concurrency tests open many connections
		if *p.pool, err = pgxpool.NewWithConfig(ctx, poolCfg); err != nil {
			_ = d.Drop(ctx)
			return nil, fmt.Errorf("connect to test database %s: %w", name, err)
		}
	}
	return d, nil
}

// Drop closes the pools and drops the database, disconnecting any session
// still connected to it, and its sandbox roles.
func (d *Database) Drop(ctx context.Context) error {
	for _, p := range []*pgxpool.Pool{d.Pool, d.Worker} {
		if p != nil {
			p.Close()
		}
	}
	return d.drop(ctx)
}

func (d *Database) drop(ctx context.Context) error {
	admin, err := pgx.Connect(ctx, d.adminURL)
	if err != nil {
		return fmt.Errorf("drop test database %s: %w", d.Name, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.Name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop test database %s: %w: drop it by hand", d.Name, err)
	}
	return db.DropSandboxRolesOf(ctx, admin, d.Name)
}

// Main creates and migrates the package database, hands it to use, runs the
// tests and drops the database. Call it from TestMain: os.Exit(dbtest.Main(...)).
//
// With -short the package's tests are skipped as a whole: they need
// Postgres, and -short runs what needs neither Postgres nor Temporal.
func Main(m *testing.M, pkg string, use func(*Database)) int {
	flag.Parse() // so that testing.Short is known before m.Run
	if testing.Short() {
		fmt.Printf("dbtest: -short: skipping the tests of %s: they need Postgres (TEST_DATABASE_URL); run them without -short\n", pkg)
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	d, err := Create(ctx, pkg, true)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "dbtest: %v\n", err)
		return 1
	}
	use(d)
	code := m.Run()
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Drop(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "dbtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// New creates a migrated database for one test and drops it at cleanup.
func New(tb testing.TB, pkg string) *Database { return newForTest(tb, pkg, true) }

// NewEmpty creates an unmigrated database for one test (migration tests)
// and drops it at cleanup.
func NewEmpty(tb testing.TB, pkg string) *Database { return newForTest(tb, pkg, false) }

func newForTest(tb testing.TB, pkg string, migrate bool) *Database {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs Postgres (TEST_DATABASE_URL): skipped with -short")
	}
	d, err := Create(context.Background(), pkg, migrate)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := d.Drop(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	return d
}

// Tx begins a transaction that is rolled back at cleanup, for a test that
// needs only one connection and must leave no trace.
func Tx(tb testing.TB, pool *pgxpool.Pool) pgx.Tx {
	tb.Helper()
	tx, err := pool.Begin(context.Background())
	if err != nil {
		tb.Fatalf("begin test transaction: %v", err)
	}
	tb.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

func sanitize(pkg string) string {
	s := unsafeChars.ReplaceAllString(strings.ToLower(pkg), "_")
	if len(s) > 30 { // identifiers stop at 63 bytes
		s = s[:30]
	}
	return s
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// withUser returns rawURL (a URL withDatabase made) logging in as user,
// with no password: the test server trusts local logins.
func withUser(rawURL, user string) string {
	u, _ := url.Parse(rawURL)
	u.User = url.User(user)
	return u.String()
}

// withDatabase returns rawURL pointing at database name.
func withDatabase(rawURL, name string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("TEST_DATABASE_URL must be a postgres:// URL (keyword=value strings are not supported)")
	}
	u.Path = "/" + name
	return u.String(), nil
}
