package proxy

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's utime and stime; it is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procCPU returns the CPU seconds (user + system) process pid has used.
func procCPU(pid int) (float64, error) {
	path := fmt.Sprintf("/proc/%d/stat", pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	// The command name (field 2) may hold spaces; fields are counted after
	// its closing parenthesis, where field 3 (state) comes first.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("parse %s: %d fields", path, len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse %s: utime %q stime %q", path, f[11], f[12])
	}
	return float64(utime+stime) / clockTicks, nil
}

// loadAvg is the 1-minute load average, to report alongside throughput.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
