package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/rolegate/rolegate/provision"
)

// exportFile is one file export-terraform writes.
type exportFile struct {
	name string
	text []byte
}

// roleFileName names the file of one exported role. The request ID makes
// it unique (two roles never share one, whatever their names) and the
// "request-" start keeps it clear of versions.tf; the label is there for
// people reading the directory.
func roleFileName(requestID int64, roleName string) string {
	return fmt.Sprintf("request-%d-%s.tf", requestID, provision.TerraformLabel(roleName))
}

// writeExport writes files into dir, never replacing a file: every name
// is checked before anything is written, so a refused export leaves the
// directory as it was, and each file is then created exclusively, so one
// that appeared meanwhile is not overwritten either. It returns how many
// files it wrote, also when it fails part-way.
func writeExport(dir string, files []exportFile) (int, error) {
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f.name] {
			return 0, fmt.Errorf("two exported files would be named %s; nothing was written", f.name)
		}
		seen[f.name] = true
		path := filepath.Join(dir, f.name)
		if _, err := os.Lstat(path); err == nil {
			return 0, fmt.Errorf("%s already exists and export-terraform never overwrites a file; nothing was written: export into a new or empty directory", path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
	}
	n := 0
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		w, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			return n, fmt.Errorf("%s appeared while exporting and was left alone; %d file(s) written before it", path, n)
		}
		if err != nil {
			return n, err
		}
		_, err = w.Write(f.text)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
		n++
	}
	return n, nil
}

// exportProviders are the files of an export beside the roles:
// versions.tf, and when an account is reached through its provisioner
// role, providers.tf with the provider alias of every such account (the
// roles' Terraform names them). A single-account export stays as it was,
// so an auditor's own provider block does not clash with one of ours.
func exportProviders(set provision.Settings) ([]exportFile, error) {
	files := []exportFile{{name: "versions.tf", text: []byte(providerRequirements)}}
	for _, a := range set.Accounts {
		if a.Assumed() {
			tf, err := provision.TerraformProviders(set.Accounts)
			if err != nil {
				return nil, err
			}
			return append(files, exportFile{name: "providers.tf", text: tf}), nil
		}
	}
	return files, nil
}

// providerRefRe finds the provider aliases provision.Terraform names.
var providerRefRe = regexp.MustCompile(`(?m)^\s*provider\s*=\s*aws\.([A-Za-z0-9_-]+)\s*$`)

// providersKnown checks that every provider alias a role's stored
// Terraform names is one providers.tf configures: an account since
// removed from the accounts file, or no longer assumed, would leave
// `terraform plan` failing on the whole directory. It returns an error
// naming the first missing alias.
func providersKnown(tf string, set provision.Settings) error {
	for _, m := range providerRefRe.FindAllStringSubmatch(tf, -1) {
		if a, ok := set.Account(m[1]); !ok || a.Name != m[1] || !a.Assumed() {
			return fmt.Errorf("its Terraform uses the provider aws.%s, but the accounts file has no account %s with a role_arn", m[1], m[1])
		}
	}
	return nil
}
