package app

import (
	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
)

// temporalLogger adapts zap to the SDK's key-value logger interface.
type temporalLogger struct{ s *zap.SugaredLogger }

// NewTemporalLogger routes Temporal SDK logs through zap.
func NewTemporalLogger(l *zap.Logger) log.Logger {
	return temporalLogger{s: l.WithOptions(zap.AddCallerSkip(1)).Sugar()}
}

func (t temporalLogger) Debug(msg string, kv ...any) { t.s.Debugw(msg, kv...) }
func (t temporalLogger) Info(msg string, kv ...any)  { t.s.Infow(msg, kv...) }
func (t temporalLogger) Warn(msg string, kv ...any)  { t.s.Warnw(msg, kv...) }
func (t temporalLogger) Error(msg string, kv ...any) { t.s.Errorw(msg, kv...) }

// With returns a logger that adds kv to every line (log.WithLogger).
func (t temporalLogger) With(kv ...any) log.Logger { return temporalLogger{s: t.s.With(kv...)} }
