package region

import (
	"bytes"
	"strings"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
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

// logLevels maps memberlist's level prefixes to zap's.
var logLevels = []struct {
	prefix string
	level  zapcore.Level
}{
	{"[DEBUG]", zapcore.DebugLevel},
	{"[INFO]", zapcore.InfoLevel},
	{"[WARN]", zapcore.WarnLevel},
	{"[ERR]", zapcore.ErrorLevel},
}

func (w zapWriter) Write(p []byte) (int, error) {
	if w.mute != nil && w.mute.Load() {
		return len(p), nil
	}
	line := string(bytes.TrimSpace(p))
	for _, l := range logLevels {
		if msg, ok := strings.CutPrefix(line, l.prefix); ok {
			w.log.Log(l.level, strings.TrimSpace(msg))
			return len(p), nil
		}
	}
	w.log.Info(line)
	return len(p), nil
}
