package region

import (
	"bytes"
	"sync/atomic"

	"go.uber.org/zap"
)

// zapWriter turns memberlist's stdlib log lines ("[WARN] memberlist: ...")
// into zap entries at the matching level, so nothing goes to stderr. Once
// mute is set it drops lines: memberlist's timers may still fire briefly
// after Shutdown, and their complaints about closed sockets are noise that
// would outlive the node (and a test's logger).
type zapWriter struct {
	log  *zap.Logger
	mute *atomic.Bool
}

func (w zapWriter) Write(p []byte) (int, error) {
	if w.mute != nil && w.mute.Load() {
		return len(p), nil
	}
	line := string(bytes.TrimSpace(p))
	switch {
	case hasLevel(line, "[DEBUG]"):
		w.log.Debug(trimLevel(line, "[DEBUG]"))
	case hasLevel(line, "[INFO]"):
		w.log.Info(trimLevel(line, "[INFO]"))
	case hasLevel(line, "[WARN]"):
		w.log.Warn(trimLevel(line, "[WARN]"))
	case hasLevel(line, "[ERR]"):
		w.log.Error(trimLevel(line, "[ERR]"))
	default:
		w.log.Info(line)
	}
	return len(p), nil
}

func hasLevel(line, lvl string) bool {
	return len(line) >= len(lvl) && line[:len(lvl)] == lvl
}

func trimLevel(line, lvl string) string {
	return string(bytes.TrimSpace([]byte(line[len(lvl):])))
}
