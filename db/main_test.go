package db_test

import (
	"os"
	"testing"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
)

// testDB is this package's own database; tests that need an empty registry
// or intent list create one more with dbtest.New.
var (
	testDB    *dbtest.Database
	testStore *db.Store
)

func TestMain(m *testing.M) {
	os.Exit(dbtest.Main(m, "db", func(d *dbtest.Database) {
		testDB = d
		testStore = db.New(d.Pool)
	}))
}
