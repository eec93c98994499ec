package db

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The sandbox login (ADR 0114). A consistency unit runs on a connection of
// its own that logs in as the sandbox role and SETs ROLE to the plan's
// role: RESET ROLE or SET SESSION AUTHORIZATION inside a unit give back the
// sandbox login, which holds nothing, never the worker or the owner.

// ErrSandboxLogin: the sandbox login is not confined (a superuser, a role
// with an attribute, one that inherits, is a member of a role other than
// the per-plan ones or owns a relation), or is the worker's own login.
var ErrSandboxLogin = errors.New("the sandbox login is not confined")

// SandboxLogin says how units connect: URL (CFA_SANDBOX_DATABASE_URL), or
// when empty the worker's server and database as Role with no password,
// which works where the server trusts local logins; set URL wherever it
// takes a password or a certificate.
type SandboxLogin struct {
	URL  string
	Role string // empty: DefaultRoles.Sandbox
}

// sandboxConfig derives the sandbox pool's configuration from the worker's.
func sandboxConfig(worker *pgxpool.Config, login SandboxLogin) (*pgxpool.Config, error) {
	var cfg *pgxpool.Config
	if login.URL != "" {
		var err error
		if cfg, err = pgxpool.ParseConfig(login.URL); err != nil {
			return nil, parseError(login.URL)
		}
	} else {
		cfg = worker.Copy()
		cfg.ConnConfig.User = login.Role
		if cfg.ConnConfig.User == "" {
			cfg.ConnConfig.User = DefaultRoles.Sandbox
		}
		// Never the worker's credentials: no password, no client certificate.
		cfg.ConnConfig.Password = ""
		cfg.ConnConfig.TLSConfig = withoutClientCert(cfg.ConnConfig.TLSConfig)
		for _, f := range cfg.ConnConfig.Fallbacks {
			f.TLSConfig = withoutClientCert(f.TLSConfig)
		}
		cfg.BeforeConnect, cfg.AfterConnect, cfg.PrepareConn, cfg.AfterRelease = nil, nil, nil, nil // the worker's hooks are not the sandbox's
	}
	if cfg.ConnConfig.User == worker.ConnConfig.User {
		return nil, fmt.Errorf("%w: it logs in as %s, the worker's login: log units in as %s (CFA_SANDBOX_DATABASE_URL, docs/roles.md)",
			ErrSandboxLogin, cfg.ConnConfig.User, DefaultRoles.Sandbox)
	}
	cfg.AfterConnect = checkSandboxLogin
	return cfg, nil
}

func withoutClientCert(c *tls.Config) *tls.Config {
	if c == nil {
		return nil
	}
	c = c.Clone()
	c.Certificates, c.GetClientCertificate = nil, nil
	return c
}

// checkSandboxLogin refuses a sandbox connection whose login could reach
// more than the per-plan roles: it runs on every new connection.
func checkSandboxLogin(ctx context.Context, c *pgx.Conn) error {
	var name, others string
	var super, inherit, attrs, owns bool
	err := c.QueryRow(ctx, `SELECT r.rolname, r.rolsuper, r.rolinherit,
  r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls,
  EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = r.oid),
  coalesce((SELECT string_agg(g.rolname, ', ' ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
            WHERE m.member = r.oid AND NOT starts_with(g.rolname, 'cfa_sbx_')), '')
FROM pg_roles r WHERE r.rolname = session_user`).Scan(&name, &super, &inherit, &attrs, &owns, &others)
	if err != nil {
		return fmt.Errorf("check the sandbox login: %w", err)
	}
	var why []string
	if super {
		why = append(why, "is a superuser")
	}
	if attrs {
		why = append(why, "has CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS")
	}
	if inherit {
		why = append(why, "inherits the privileges of its roles (make it NOINHERIT)")
	}
	if owns {
		why = append(why, "owns tables")
	}
	if others != "" {
		why = append(why, "is a member of "+others)
	}
	if len(why) > 0 {
		return fmt.Errorf("%w: %s %s: a unit could leave its plan's role for more; log units in as %s, set up by `cfa roles setup` (docs/roles.md)",
			ErrSandboxLogin, name, strings.Join(why, ", "), DefaultRoles.Sandbox)
	}
	return nil
}

// sandboxPool opens the sandbox pool on first use (it connects lazily).
func (s *Store) sandboxPool(ctx context.Context) (*pgxpool.Pool, error) {
	s.sandboxMu.Lock()
	defer s.sandboxMu.Unlock()
	if s.sandbox != nil {
		return s.sandbox, nil
	}
	if s.sandboxErr != nil {
		return nil, s.sandboxErr
	}
	p, err := pgxpool.NewWithConfig(ctx, s.sandboxCfg)
	if err != nil {
		return nil, fmt.Errorf("open the sandbox login %s on %s: %w", s.sandboxCfg.ConnConfig.User, describeConfig(s.sandboxCfg), err)
	}
	s.sandbox = p
	return p, nil
}

// CheckSandbox connects once as the sandbox login and checks that it is
// confined (ErrSandboxLogin otherwise): the worker does at start.
func (s *Store) CheckSandbox(ctx context.Context) error {
	p, err := s.sandboxPool(ctx)
	if err != nil {
		return err
	}
	c, err := p.Acquire(ctx)
	if err != nil {
		if errors.Is(err, ErrSandboxLogin) {
			return err
		}
		return fmt.Errorf("connect to %s as the sandbox login %s: %w: set up the roles (`cfa roles setup`) or set CFA_SANDBOX_DATABASE_URL (docs/roles.md)",
			describeConfig(s.sandboxCfg), s.sandboxCfg.ConnConfig.User, err)
	}
	c.Release()
	return nil
}

// SandboxUser is the login units run as.
func (s *Store) SandboxUser() string {
	if s.sandboxCfg == nil {
		return ""
	}
	return s.sandboxCfg.ConnConfig.User
}
