package app_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/contextualflux/cfa/internal/app"
)

// TestWorkerLogLinesAreJSONWithISO8601UTCTimes: the worker's logger
// (app.NewLogger, what worker.Run and cmd/cfa-worker use) writes JSON lines
// to stderr whose ts is ISO-8601 in UTC with milliseconds, on a machine in
// another time zone too, for its own lines and for the Temporal SDK's. Not
// parallel: it swaps os.Stderr and time.Local.
func TestWorkerLogLinesAreJSONWithISO8601UTCTimes(t *testing.T) {
	lines := captureStderr(t, func() {
		local := time.Local
		time.Local = time.FixedZone("BRT", -3*60*60)
		defer func() { time.Local = local }()
		t.Setenv("CFA_LOG_LEVEL", "debug")
		logger, err := app.NewLogger()
		require.NoError(t, err)
		logger.Info("worker started")
		app.NewTemporalLogger(logger).Debug("Activity error.", "ActivityType", "ExecuteUnit")
		_ = logger.Sync()
	})
	require.Len(t, lines, 2)
	before := time.Now().Add(-time.Minute)
	for i, want := range []struct{ level, msg string }{{"info", "worker started"}, {"debug", "Activity error."}} {
		var line struct {
			Level string `json:"level"`
			TS    string `json:"ts"`
			Msg   string `json:"msg"`
		}
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &line), "a JSON line: %s", lines[i])
		require.Equal(t, want.level, line.Level)
		require.Equal(t, want.msg, line.Msg)
		ts, err := time.Parse(time.RFC3339Nano, line.TS)
		require.NoError(t, err, "ts is RFC 3339 / ISO-8601: %s", lines[i])
		require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, line.TS, "UTC, milliseconds, fixed width")
		require.WithinRange(t, ts, before, time.Now().Add(time.Minute))
	}
}

// TestProcessLoggerAtLevel: app.NewLoggerAt (the bench's logger) keeps the
// same format and drops the lines below its level.
func TestProcessLoggerAtLevel(t *testing.T) {
	lines := captureStderr(t, func() {
		logger, err := app.NewLoggerAt(zapcore.WarnLevel)
		require.NoError(t, err)
		logger.Info("dropped")
		logger.Warn("kept")
		_ = logger.Sync()
	})
	require.Len(t, lines, 1)
	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &line))
	require.Equal(t, "kept", line["msg"])
	_, err := time.Parse(time.RFC3339Nano, line["ts"].(string))
	require.NoError(t, err)
}

// captureStderr runs f with os.Stderr sent to a file (zap opens "stderr"
// when the logger is built) and returns the lines written.
func captureStderr(t *testing.T, f func()) []string {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	require.NoError(t, err)
	defer out.Close()
	stderr := os.Stderr
	os.Stderr = out
	func() {
		defer func() { os.Stderr = stderr }()
		f()
	}()
	_, err = out.Seek(0, 0)
	require.NoError(t, err)
	var lines []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, sc.Err())
	return lines
}
