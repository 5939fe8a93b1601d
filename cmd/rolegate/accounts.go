package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rolegate/rolegate/provision"
)

// accountsFile is the shape of the accounts file (YAML or JSON, the same
// keys): the accounts rolegate provisions into, the first the default.
type accountsFile struct {
	Accounts []provision.Account `yaml:"accounts"`
}

// loadAccounts reads the accounts file at path. YAML's decoder reads JSON
// too; unknown keys are refused, so a misspelt override is not silently
// ignored. It returns the accounts in file order, or one error per fault
// found while reading (the accounts' values are checked by
// provision.Settings.Validate).
func loadAccounts(path string) ([]provision.Account, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read it: %w", err)
	}
	var f accountsFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("it is empty; it must list accounts: (see README.md)")
		}
		var lines []error
		for _, l := range strings.Split(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n"), "\n") {
			lines = append(lines, errors.New(strings.TrimSpace(strings.TrimPrefix(l, "yaml: "))))
		}
		return nil, errors.Join(lines...)
	}
	if len(f.Accounts) == 0 {
		return nil, errors.New("it lists no accounts under accounts:")
	}
	return f.Accounts, nil
}
