package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Role is what a config is checked for: a sidecar needs postgres and
// tables, a proxy does not.
type Role string

const (
	RoleSidecar Role = "sidecar"
	RoleProxy   Role = "proxy"
	// RoleAny checks the sidecar's needs only when postgres has a source
	// (check-config without --role).
	RoleAny Role = ""
)

// Error lists every problem of a config file, each naming its key.
type Error struct {
	File     string
	Problems []string
}

func (e *Error) Error() string {
	return fmt.Sprintf("config %s:\n  %s", e.File, strings.Join(e.Problems, "\n  "))
}

// Load reads, completes and checks the file at path for role.
func Load(path string, role Role) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, role)
}

// Parse decodes data (named name in errors) over Default, then completes and
// checks it for role. Every problem is in the returned *Error.
func Parse(name string, data []byte, role Role) (Config, error) {
	cfg := Default()
	if problems := decode(data, &cfg); len(problems) > 0 {
		return Config{}, &Error{File: name, Problems: problems}
	}
	if err := cfg.Check(role); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.File = name
		}
		return Config{}, err
	}
	return cfg, nil
}

// decode fills cfg from data strictly: an unknown key is a problem. The
// decoder says only "line N"; the problems name the key's path instead.
func decode(data []byte, cfg *Config) []string {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return []string{err.Error()}
	}
	if len(root.Content) == 0 {
		return []string{"empty config: region, memcache.servers and (for a sidecar) postgres.source are required"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []string{err.Error()}
	}
	idx := indexKeys(root.Content[0])
	problems := make([]string, len(te.Errors))
	for i, msg := range te.Errors {
		problems[i] = idx.explain(msg)
	}
	return problems
}
