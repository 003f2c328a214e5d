package local

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// account is the OS user servers run as: postgres refuses to run as root.
type account struct {
	uid, gid int
	cred     *syscall.Credential // nil: run as ourselves
}

func pgAccount() (account, error) {
	if os.Geteuid() != 0 {
		return account{uid: os.Getuid(), gid: os.Getgid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return account{}, fmt.Errorf("running as root needs a postgres user (make deps): %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return account{}, fmt.Errorf("postgres uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return account{}, fmt.Errorf("postgres gid %q: %w", u.Gid, err)
	}
	return account{uid: uid, gid: gid, cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}}, nil
}

// command builds a command that runs as the account in its own process
// group, so that a whole server (postmaster and backends) can be signalled
// at once, and that dies with the process that started it.
func (a account) command(dir, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"LC_ALL=C", "LANG=C", "PATH=/usr/bin:/bin", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: a.cred,
	}
	return cmd
}

// tempDir makes a directory inside parent ("" = os.TempDir) that the
// account owns. parent must be searchable by the account: os.TempDir is, a
// testing.T's TempDir (0700, root's) is not.
func (a account) tempDir(parent, pattern string) (string, error) {
	dir, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	if err := os.Chown(dir, a.uid, a.gid); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("chown %s: %w", dir, err)
	}
	return dir, nil
}
