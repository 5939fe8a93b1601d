package iamlocal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// loadState reads the JSON state file. A missing file is an empty state;
// an unreadable or unparsable one is an error naming the path.
func loadState(path string) (*state, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("iamlocal: read state: %w", err)
	}
	st := newState()
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("iamlocal: parse state %s: %w", path, err)
	}
	if st.Roles == nil {
		st.Roles = map[string]*role{}
	}
	if st.Profiles == nil {
		st.Profiles = map[string]*profile{}
	}
	if st.Policies == nil {
		st.Policies = map[string]*managedPolicy{}
	}
	return st, nil
}

// saveState writes the state to a temporary file next to path and renames
// it over path, so a crash leaves either the old or the new state.
func saveState(path string, st *state) error {
	data, err := json.MarshalIndent(st, "", "  ")
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
