package main

import (
	"os"
	"regexp"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/cmd/node"
)

// TestAlertRulesUseExportedMetrics keeps deploy/prometheus honest: every
// metric an alert reads must be one a sidecar or a proxy exports.
func TestAlertRulesUseExportedMetrics(t *testing.T) {
	data, err := os.ReadFile("../../deploy/prometheus/cachesync-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	y := `region: west
postgres: {source: "postgres://u:p@127.0.0.1:1/app", replica: "postgres://u:p@127.0.0.1:2/app"}
memcache: {servers: [127.0.0.1:1]}
tables: {public.users: {keys: ["user:{id}"]}}
proxy: {listen: "127.0.0.1:0"}
`
	cfg, err := config.Parse("alerts", []byte(y), config.RoleSidecar)
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []config.Role{config.RoleSidecar, config.RoleProxy} {
		n, err := node.New(node.Config{File: cfg, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		families, err := n.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			exported[f.GetName()] = true
		}
	}
	used := regexp.MustCompile(`cachesync_[a-z0-9_]+`)
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, name := range used.FindAllString(r.Expr, -1) {
				n++
				if !exported[name] {
					t.Errorf("alert %s uses %s, which neither role exports", r.Alert, name)
				}
			}
		}
	}
	if n < 5 {
		t.Fatalf("found only %d metric uses in the rules: the file did not parse as expected", n)
	}
}
