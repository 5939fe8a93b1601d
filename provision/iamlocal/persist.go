package iamlocal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// stateFile is how the state file is read: every account's state by ID
// (which saveState writes). A file written before the endpoint held several accounts has the one
// account's maps at the top level instead; they are the first account's.
type stateFile struct {
	Accounts map[string]*state `json:"accounts"`
	state
}

// loadState reads the JSON state file into states by account ID, putting
// a single-account file's state in account first. A missing file is no
// account at all; an unreadable or unparsable one is an error naming the
// path.
func loadState(path, first string) (map[string]*state, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]*state{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("iamlocal: read state: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("iamlocal: parse state %s: %w", path, err)
	}
	accounts := f.Accounts
	if accounts == nil {
		accounts = map[string]*state{first: &f.state}
	}
	for id, st := range accounts {
		if st == nil {
			st = &state{}
			accounts[id] = st
		}
		st.fill()
	}
	return accounts, nil
}

// saveState writes the state to a temporary file next to path and renames
// it over path, so a crash leaves either the old or the new state.
func saveState(path string, accounts map[string]*state) error {
	data, err := json.MarshalIndent(struct {
		Accounts map[string]*state `json:"accounts"`
	}{accounts}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
