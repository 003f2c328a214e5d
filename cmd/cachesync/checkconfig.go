package main

import (
	"fmt"
	"io"

	"github.com/cachesync/cachesync/cmd/config"
)

func cmdCheckConfig(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check-config", stderr)
	path := fs.String("config", "", "config file to check")
	role := fs.String("role", "", "check for this role only: sidecar or proxy (default: sidecar when postgres.source is set)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	r := config.Role(*role)
	if r != config.RoleSidecar && r != config.RoleProxy && r != config.RoleAny {
		fmt.Fprintf(stderr, "check-config --role: %q is not sidecar or proxy\n", *role)
		return errUsage
	}
	cfg, err := loadConfigFlag(fs, *path, r)
	if err != nil {
		return err
	}
	if err := printConfig(stdout, cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# %s: ok\n", *path)
	return nil
}

// printConfig writes the effective config (defaults filled in, secrets
// redacted) so an operator sees what the node will actually do; it is a
// config file the node reads back.
func printConfig(w io.Writer, c Config) error {
	data, err := config.Marshal(c.Redacted())
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}
