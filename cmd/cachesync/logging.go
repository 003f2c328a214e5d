package main

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger is JSON for production (one line per event, machine-readable) and
// a coloured console for --dev.
func newLogger(dev bool) (*zap.Logger, error) {
	return logConfig(dev).Build()
}

// logConfig is newLogger's config, also the demo's log format.
func logConfig(dev bool) zap.Config {
	if dev {
		cfg := zap.NewDevelopmentConfig()
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
		cfg.DisableStacktrace = true
		return cfg
	}
	cfg := zap.NewProductionConfig()
	cfg.EncoderConfig.TimeKey = "ts"
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.Sampling = nil // every state change matters at 3 a.m.
	// Error lines are expected conditions told to an operator (a refused
	// table, a flushed region), not crashes: no stack traces.
	cfg.DisableStacktrace = true
	return cfg
}
