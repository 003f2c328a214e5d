package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// killGroup SIGKILLs every process of group pgid and waits until none is
// alive. Zombies count as gone: they hold no ports or shared memory, and
// nobody may be reaping them if PID 1 is not an init.
func killGroup(pgid int, timeout time.Duration) error {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return Poll(context.Background(), timeout, func() error {
		live := liveGroupMembers(pgid)
		if len(live) == 0 {
			return nil
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return fmt.Errorf("process group %d still has live processes %v", pgid, live)
	})
}

func liveGroupMembers(pgid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var live []int
	for _, f := range stats {
		fields, err := procStat(f)
		// state ppid pgrp ...
		if err != nil || len(fields) < 3 || fields[0] == "Z" || fields[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(fields[2]); err == nil && g == pgid {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			live = append(live, pid)
		}
	}
	return live
}

// procStat returns the fields of a /proc/<pid>/stat (or task stat) file
// after the parenthesised command, which may hold spaces but not ")":
// state, ppid, pgrp, ...
func procStat(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("%s: no command field", path)
	}
	return strings.Fields(s[i+1:]), nil
}
