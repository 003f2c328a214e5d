package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Chromium is the browser binary; CHROMIUM in the environment overrides it.
var Chromium = "/usr/bin/chromium"

// VirtualTimeBudget is how much page time chromium grants the page's
// scripts (timers, fetches) before it dumps or captures.
var VirtualTimeBudget = 3 * time.Second

// BrowserDOM loads url and returns the DOM after the page's scripts ran.
func BrowserDOM(ctx context.Context, url string) (string, error) {
	out, err := run(ctx, "--dump-dom", url)
	if err != nil {
		return "", fmt.Errorf("dump dom of %s: %w", url, err)
	}
	return out, nil
}

// BrowserScreenshot loads url in a 1400x1000 window and saves a PNG to file.
func BrowserScreenshot(ctx context.Context, url, file string) error {
	if _, err := run(ctx, "--screenshot="+file, "--window-size=1400,1000", url); err != nil {
		return fmt.Errorf("screenshot of %s: %w", url, err)
	}
	st, err := os.Stat(file)
	if err != nil {
		return fmt.Errorf("screenshot of %s: %w", url, err)
	}
	if st.Size() == 0 {
		return fmt.Errorf("screenshot of %s: empty file", url)
	}
	return nil
}

func run(ctx context.Context, args ...string) (string, error) {
	profile, err := os.MkdirTemp("", "chromium-profile-")
	if err != nil {
		return "", fmt.Errorf("profile dir: %w", err)
	}
	defer os.RemoveAll(profile)
	bin := Chromium
	if v := os.Getenv("CHROMIUM"); v != "" {
		bin = v
	}
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--no-first-run", "--disable-default-apps",
		"--disable-extensions", "--mute-audio", "--hide-scrollbars",
		"--user-data-dir=" + profile,
		"--virtual-time-budget=" + strconv.FormatInt(VirtualTimeBudget.Milliseconds(), 10),
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	// Chromium forks helpers; killing the group is the only way not to
	// leave them behind when ctx ends first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	// Helpers may still be exiting after the main process; end them too.
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = errors.Join(err, ctxErr)
		}
		return "", fmt.Errorf("%s: %w: %s", bin, err, tail(stderr.String(), 2000))
	}
	return stdout.String(), nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
