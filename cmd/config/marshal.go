package config

import (
	"bytes"
	"fmt"
	"slices"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/cachesync/cachesync/replication"
)

// Marshal writes c as the YAML file Parse reads back: what the demo and the
// test harness run with, and what check-config prints.
func Marshal(c Config) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	return b.Bytes(), nil
}

// Redacted is c with the passwords of its DSNs replaced, for printing.
func (c Config) Redacted() Config {
	c.Postgres = slices.Clone(c.Postgres)
	for i := range c.Postgres {
		s := &c.Postgres[i]
		s.Source = replication.RedactDSN(s.Source)
		if s.Replica != "" {
			s.Replica = replication.RedactDSN(s.Replica)
		}
	}
	return c
}

// TableNames is the configured tables in order, for output that must not
// change from run to run.
func TableNames(tables map[string]Table) []string {
	names := make([]string, 0, len(tables))
	for n := range tables {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
