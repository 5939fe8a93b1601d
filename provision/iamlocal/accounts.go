package iamlocal

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// OrganizationAccountAccessRole is the role every account after the first
// starts with, as AWS Organizations creates it in a member account: the
// first (management) account's root may assume it, and it has
// AdministratorAccess attached.
const OrganizationAccountAccessRole = "OrganizationAccountAccessRole"

// defaultAccountID is the account served when Options names none.
const defaultAccountID = "123456789012"

// normalizeAccounts fills in opts.Accounts and opts.AccountID from each
// other. It returns an error for an ID that is not 12 digits, an account
// named twice, or an AccountID that is not the first of Accounts.
func normalizeAccounts(opts *Options) error {
	if len(opts.Accounts) == 0 {
		if opts.AccountID == "" {
			opts.AccountID = defaultAccountID
		}
		opts.Accounts = []string{opts.AccountID}
	}
	if opts.AccountID == "" {
		opts.AccountID = opts.Accounts[0]
	}
	if opts.AccountID != opts.Accounts[0] {
		return fmt.Errorf("iamlocal: account ID %s is not the first of the accounts (%s)", opts.AccountID, opts.Accounts[0])
	}
	opts.Accounts = slices.Clone(opts.Accounts)
	for i, id := range opts.Accounts {
		if !isAccountID(id) {
			return errors.New("iamlocal: account ID must be 12 digits")
		}
		if slices.Contains(opts.Accounts[:i], id) {
			return fmt.Errorf("iamlocal: account %s named twice", id)
		}
	}
	return nil
}

func isAccountID(id string) bool {
	return len(id) == 12 && strings.Trim(id, "0123456789") == ""
}

// openAccounts gives every served account the state file did not hold a
// new state; one after the first starts with OrganizationAccountAccessRole.
// Accounts the file held but that are not served stay as they are, so a
// restart with fewer accounts loses none.
func (s *Server) openAccounts() {
	first := s.opts.Accounts[0]
	for i, id := range s.opts.Accounts {
		if _, ok := s.accounts[id]; ok {
			continue
		}
		st := newState()
		if i > 0 {
			r := s.orgAccessRole(first)
			st.Roles[nameKey(r.Name)] = r
		}
		s.accounts[id] = st
	}
}

// orgAccessRole is OrganizationAccountAccessRole trusting the account
// first's root. It is dated before the consistency delay, so reads see it
// at once: it existed before the endpoint started.
func (s *Server) orgAccessRole(first string) *role {
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` +
		first + `:root"},"Action":"sts:AssumeRole"}]}`
	return &role{
		Name:               OrganizationAccountAccessRole,
		ID:                 newID(rolePrefix),
		Path:               "/",
		TrustPolicy:        trust,
		MaxSessionDuration: defaultMaxSession,
		Created:            s.now().Add(-s.opts.ConsistencyDelay),
		Attached:           []string{awsPolicyARNPrefix + "AdministratorAccess"},
	}
}

// served reports whether the account is one the endpoint serves.
func (s *Server) served(id string) bool { return slices.Contains(s.opts.Accounts, id) }
