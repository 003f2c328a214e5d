package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachesync/cachesync/test/cluster"
)

// TestCmdCheck runs the subcommand against a real database and memcached:
// a consistent key passes, a contradicted one fails the command and is named.
func TestCmdCheck(t *testing.T) {
	pg := cluster.StartPostgres(t)
	pg.CreateDB(t, "app")
	pg.ExecDB(t, "app", "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)")
	pg.ExecDB(t, "app", "INSERT INTO users VALUES (1, 'alice'), (2, 'bob')")
	mc := cluster.StartMemcached(t)
	path := filepath.Join(t.TempDir(), "west.yaml")
	conf := fmt.Sprintf(`region: west
postgres:
  source: %s
memcache:
  servers: [%s]
tables:
  public.users:
    keys: ["user:{id}"]
    value: "{id}|{name}"
`, pg.DSN("app"), mc.Addr())
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	mcSet := func(key, value string) {
		c, err := net.Dial("tcp", mc.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "set %s 0 0 %d\r\n%s\r\n", key, len(value), value)
		buf := make([]byte, 8)
		if n, err := c.Read(buf); err != nil || string(buf[:n]) != "STORED\r\n" {
			t.Fatalf("set %s: %q %v", key, buf[:n], err)
		}
	}
	mcSet("user:1", "1|alice")
	var out, errOut bytes.Buffer
	if err := cmdCheck(context.Background(), []string{"--config", path}, &out, &errOut); err != nil {
		t.Fatalf("consistent cache: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "consistent 1, inconsistent 0") {
		t.Fatalf("output %q", out.String())
	}
	mcSet("user:2", "2|robert")
	out.Reset()
	err := cmdCheck(context.Background(), []string{"--config", path}, &out, &errOut)
	if !errors.Is(err, errInconsistent) || !strings.Contains(out.String(), `user:2: cached "2|robert", database says "2|bob"`) {
		t.Fatalf("inconsistent cache: err %v, output %q", err, out.String())
	}
}
