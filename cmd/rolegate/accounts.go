package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"go.yaml.in/yaml/v3"

	"github.com/rolegate/rolegate/provision"
)

// accountsFile is the shape of the accounts file (YAML or JSON, the same
// keys): the accounts rolegate provisions into, the first the default.
type accountsFile struct {
	Accounts []provision.Account `yaml:"accounts" json:"accounts"`
}

// devAccountsFile is where `rolegate dev` records the accounts it runs
// with, in its data directory, for the commands run beside it.
func devAccountsFile(dataDir string) string { return filepath.Join(dataDir, "accounts.json") }

// writeDevAccounts records accounts in dataDir's accounts file (none: no
// file). It returns an error when the file cannot be written.
func writeDevAccounts(dataDir string, accounts []provision.Account) error {
	if len(accounts) == 0 {
		if err := os.Remove(devAccountsFile(dataDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	data, err := json.MarshalIndent(accountsFile{Accounts: accounts}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(devAccountsFile(dataDir), append(data, '\n'), 0o600)
}

// devIAMEndpointFile is where `rolegate dev` records the URL of its local
// IAM endpoint, for the commands run beside it.
func devIAMEndpointFile(dataDir string) string { return filepath.Join(dataDir, "iam-endpoint") }

// devAWS returns the AWS configuration options of a command run beside a
// `rolegate dev` with dataDir: its local IAM endpoint (for IAM and STS),
// with local credentials when none are set, unless AWS_ENDPOINT_URL_IAM
// names another. It returns an error when dev serves its own endpoint but
// its URL cannot be read.
func devAWS(dataDir string, getenv func(string) string) ([]func(*config.LoadOptions) error, error) {
	if getenv("AWS_ENDPOINT_URL_IAM") != "" {
		return nil, nil
	}
	data, err := os.ReadFile(devIAMEndpointFile(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // dev runs against an endpoint the environment names
	}
	if err != nil {
		return nil, fmt.Errorf("the IAM endpoint of rolegate dev: %w", err)
	}
	opts := []func(*config.LoadOptions) error{config.WithBaseEndpoint(strings.TrimSpace(string(data)))}
	if getenv("AWS_ACCESS_KEY_ID") == "" && getenv("AWS_PROFILE") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	return opts, nil
}

// devAccountsOf returns the accounts a `rolegate dev` with dataDir runs
// with: none (one account) when it has recorded none.
func devAccountsOf(dataDir string) ([]provision.Account, error) {
	path := devAccountsFile(dataDir)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	accts, err := loadAccounts(path)
	if err != nil {
		return nil, fmt.Errorf("the accounts of rolegate dev in %s: %w", path, err)
	}
	return accts, nil
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
