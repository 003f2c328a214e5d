package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

const usage = `cachesync keeps memcached consistent with PostgreSQL across regions.

Usage:
  cachesync sidecar --config FILE [--dev]      replication + invalidation for one region
  cachesync proxy --config FILE [--dev]        the lease-aware memcache proxy
  cachesync proxy --listen ADDR --backends A,B [--allow-flush] [--dev]
  cachesync demo [--dev]                       a two-region system on this machine
  cachesync check --config FILE [--db DSN] [--examples N]
                                               compare the region's cached values with the database
  cachesync check-config --config FILE         validate a config and print the effective one
  cachesync skip --config FILE [--source NAME] flush the region's memcached and move the slot past
                                               a change the sidecar holds (see README: when the sidecar holds)
  cachesync version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks errors that are the caller's: exit 2 and print the usage.
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "sidecar":
		err = cmdSidecar(ctx, rest, stderr)
	case "proxy":
		err = cmdProxy(ctx, rest, stderr)
	case "demo":
		err = cmdDemo(ctx, rest, stdout, stderr)
	case "check":
		err = cmdCheck(ctx, rest, stdout, stderr)
	case "check-config":
		err = cmdCheckConfig(rest, stdout, stderr)
	case "skip":
		err = cmdSkip(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "cachesync %s\n", version)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "cachesync: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	default:
		fmt.Fprintf(stderr, "cachesync: %v\n", err)
		return 1
	}
}

// newFlags makes a flag set that reports its own errors on stderr.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %v\n", fs.Args())
		return errUsage
	}
	return nil
}
