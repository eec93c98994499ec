package main

import (
	"errors"
	"fmt"
	"io"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/identity"
	"github.com/contextualflux/cfa/internal/render"
)

// tokenCmd manages the API's bearer tokens (ADR 0117, docs/api-identity.md).
func (c *cli) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "The API's bearer tokens: create, list, revoke (docs/api-identity.md)",
	}
	cmd.AddCommand(c.tokenCreateCmd(), c.tokenListCmd(), c.tokenRevokeCmd())
	return cmd
}

// createdToken is `token create`'s result: the only time the token is shown.
type createdToken struct {
	Secret string `json:"token"`
	identity.Token
}

func (c *cli) tokenCreateCmd() *cobra.Command {
	var (
		name, principal, typ, by string
		roles                    []string
	)
	roleNames := make([]string, len(identity.Roles))
	for i, r := range identity.Roles {
		roleNames[i] = string(r)
	}
	cmd := &cobra.Command{
		Use:         "create --name NAME --role ROLE [--role ROLE...] [--principal ID] [--type HUMAN|AGENT|SERVICE] [--by WHO]",
		Annotations: receipt(audit.ActionWrite, "token:{--name}"),
		Short:       "Create an API token for a principal and print it, once",
		Long: `Create a bearer token for the API. The caller it authenticates is the
principal (--principal, default the token's name) of type --type; the
receipts of every call it makes name that principal, with the auth context
api:token:NAME. Its roles decide what it may call:

  reader     read intents, plans, code, registry, catalog, policy; watch intents
  submitter  submit intents (and read)
  approver   answer escalations (and read); the policy bundle's approvers
             still decide whose answer is taken
  operator   cancel intents (and read)
  auditor    read the audit trail (and read)
  admin      all of the above

The token is printed once, on its own line (the note goes to stderr):
only its SHA-256 is stored. A token's name is never reused, even once it
is revoked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(name) == "" {
				return usage(errors.New("token create: --name is required: name the token, e.g. ci-pipeline or maria-laptop"))
			}
			if err := identity.CheckTokenName(name); err != nil {
				return invalid(fmt.Errorf("token create: --name: %w", err))
			}
			if len(roles) == 0 {
				return usage(fmt.Errorf("token create: --role is required: grant at least one of %s", strings.Join(roleNames, ", ")))
			}
			granted, err := identity.ParseRoles(roles)
			if err != nil {
				return invalid(fmt.Errorf("token create: --role: %w", err))
			}
			if principal == "" {
				principal = name
			}
			if err := identity.CheckPrincipalID(principal); err != nil {
				return invalid(fmt.Errorf("token create: --principal: %w", err))
			}
			ptype, err := identity.ParsePrincipalType(typ)
			if err != nil {
				return invalid(fmt.Errorf("token create: --type: %w", err))
			}
			if by == "" {
				if u, err := user.Current(); err == nil {
					by = u.Username
				}
			}
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			secret, t, err := store.CreateToken(cmd.Context(), db.NewToken{
				Name: name, PrincipalID: principal, PrincipalType: ptype, Roles: granted, CreatedBy: by,
			})
			if errors.Is(err, db.ErrTokenNameTaken) {
				return &failure{code: codeInvalidInput, exit: exitFailure, err: err, fix: "choose another --name: `cfa token list` shows the names in use"}
			}
			if err != nil {
				return err
			}
			return c.emit(createdToken{Secret: secret, Token: t}, func(w io.Writer) {
				fmt.Fprintln(w, secret)
				fmt.Fprintf(c.stderr(), "token %s created for %s %s (roles %s): it is shown only once, store it now; `cfa token revoke %s` revokes it\n",
					t.Name, t.PrincipalType, t.PrincipalID, joinRoles(t.Roles), t.Name)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "the token's name, unique (letters, digits, '.', '_', '-'); receipts say api:token:NAME")
	f.StringSliceVar(&roles, "role", nil, "a role to grant (repeat or comma-separate): "+strings.Join(roleNames, ", "))
	f.StringVar(&principal, "principal", "", "who the token authenticates as: the receipts' actor and the name the policy bundle's approvers list (default: --name)")
	f.StringVar(&typ, "type", string(identity.PrincipalTypes[0]), "the principal's type: HUMAN, AGENT or SERVICE")
	f.StringVar(&by, "by", "", "who creates the token (default: your login)")
	return cmd
}

func (c *cli) tokenListCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "list",
		Annotations: receipt(audit.ActionRead, "tokens"),
		Short:       "List the API tokens, revoked ones included (never the tokens themselves)",
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			tokens, err := store.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			return c.emit(tokens, func(w io.Writer) {
				if len(tokens) == 0 {
					fmt.Fprintln(w, "no API token: `cfa token create --name NAME --role ROLE` makes one")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPRINCIPAL\tTYPE\tROLES\tCREATED\tBY\tLAST USED\tREVOKED")
				for _, t := range tokens {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.PrincipalID, t.PrincipalType, joinRoles(t.Roles),
						t.CreatedAt.Format(time.RFC3339), render.Dash(t.CreatedBy), timeOrDash(t.LastUsedAt), timeOrDash(t.RevokedAt))
				}
				_ = tw.Flush()
			})
		},
	}
}

func (c *cli) tokenRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "revoke NAME",
		Annotations: receipt(audit.ActionWrite, "token:{0}"),
		Short:       "Revoke an API token: the next call with it is refused",
		Args:        cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			ok, err := store.RevokeToken(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if !ok {
				return &failure{code: codeNotFound, exit: exitFailure,
					err: fmt.Errorf("token revoke: no live token is named %q (unknown, or revoked already)", args[0]),
					fix: "check the name: `cfa token list` shows the tokens and which are revoked"}
			}
			return c.emit(map[string]string{"revoked": args[0]}, func(w io.Writer) { fmt.Fprintf(w, "revoked token %s\n", args[0]) })
		},
	}
}

func joinRoles(rs []identity.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}
