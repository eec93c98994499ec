package app

import (
	"os"
	"time"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// TimeLayout is how every CFA process log line writes its time ("ts"):
// ISO-8601 (and RFC 3339) in UTC with milliseconds, for example
// 2026-01-03T14:05:09.123Z. A fixed width sorts as text.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// UTCTimeEncoder writes a log line's time in TimeLayout, in UTC whatever
// the machine's time zone.
func UTCTimeEncoder(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
	enc.AppendString(t.UTC().Format(TimeLayout))
}

// LoggerConfig is the configuration of every CFA process logger: zap's
// production configuration (JSON lines to stderr, caller, stack traces
// from error up), with no sampling (an on-call needs every line) and the
// time in TimeLayout instead of seconds since the epoch.
func LoggerConfig(level zapcore.Level) zap.Config {
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(level)
	cfg.Sampling = nil
	cfg.EncoderConfig.EncodeTime = UTCTimeEncoder
	return cfg
}

// NewLoggerAt returns a process logger (LoggerConfig) at level.
func NewLoggerAt(level zapcore.Level) (*zap.Logger, error) {
	return LoggerConfig(level).Build()
}

// NewLogger returns the worker's logger: LoggerConfig at info, or at debug
// when CFA_LOG_LEVEL=debug.
func NewLogger() (*zap.Logger, error) {
	level := zapcore.InfoLevel
	if os.Getenv("CFA_LOG_LEVEL") == "debug" {
		level = zapcore.DebugLevel
	}
	return NewLoggerAt(level)
}

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
