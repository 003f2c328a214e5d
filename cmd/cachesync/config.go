package main

import (
	"flag"
	"fmt"

	"github.com/cachesync/cachesync/cmd/config"
)

// Config is a node's YAML file; its schema, defaults and validation are
// package config.
type Config = config.Config

// loadConfigFlag loads the file a command's --config flag named, for role;
// without the flag it tells the user and returns errUsage.
func loadConfigFlag(fs *flag.FlagSet, path string, role config.Role) (Config, error) {
	if path == "" {
		fmt.Fprintf(fs.Output(), "%s needs --config FILE\n", fs.Name())
		return Config{}, errUsage
	}
	return config.Load(path, role)
}
