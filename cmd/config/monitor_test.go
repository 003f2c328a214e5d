package config

import (
	"testing"
	"time"
)

func TestMonitorFromConfig(t *testing.T) {
	cfg, err := Load("testdata/example.yaml", RoleSidecar)
	if err != nil {
		t.Fatal(err)
	}
	src := cfg.Postgres[0]
	m := cfg.Monitor(src)
	if m.DSN != src.Replica || m.Region != "west" || m.Source != "default" || m.Sample != 0.001 ||
		m.After != 10*time.Second || m.MaxPerSecond != 100 || len(m.Servers) != 1 || m.Hash != "ketama" {
		t.Fatalf("monitor config %+v", m)
	}
	if u := m.Tables["public.users"]; u.Value != "{id}|{name}" || len(u.Keys) != 2 {
		t.Fatalf("users %+v", u)
	}
	src.Replica, src.Name = "", "shard1"
	if m := cfg.Monitor(src); m.DSN != src.Source || m.Source != "shard1" {
		t.Fatalf("primary region: DSN %q, source %q", m.DSN, m.Source)
	}
}
