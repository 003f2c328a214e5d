package main

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger is JSON for production (one line per event, machine-readable) and
// a coloured console for --dev.
func newLogger(dev bool) (*zap.Logger, error) {
	if dev {
		cfg := zap.NewDevelopmentConfig()
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
		cfg.DisableStacktrace = true
		return cfg.Build()
	}
	return productionLogConfig().Build()
}

// productionLogConfig is the JSON logger's config, shared with the demo's
// log file.
func productionLogConfig() zap.Config {
	cfg := zap.NewProductionConfig()
	cfg.EncoderConfig.TimeKey = "ts"
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.Sampling = nil // every state change matters at 3 a.m.
	return cfg
}
