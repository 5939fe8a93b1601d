package storetest

import "github.com/rolegate/rolegate/provision"

// TwoAccounts are the default settings with two accounts: dev (the
// default, rolegate's own credentials) and prod, reached through its
// provisioner role.
func TwoAccounts() provision.Settings {
	set := provision.DefaultSettings()
	set.Accounts = []provision.Account{
		{Name: "dev", ID: "111111111111"},
		{Name: "prod", ID: "222222222222", RoleARN: "arn:aws:iam::222222222222:role/rolegate-provisioner"},
	}
	return set
}
