package service_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/internal/signature"
)

func TestValidateScheduleName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"nightly-nfe", true},
		{"daily_sales_2", true},
		{"0-first-digit", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"Nightly", false},
		{"-leading-dash", false},
		{"_leading", false},
		{"has space", false},
		{"dots.not.allowed", false},
		{"ünicode", false},
	} {
		err := service.ValidateScheduleName(c.name)
		require.Equal(t, c.ok, err == nil, "%q: %v", c.name, err)
		if err != nil {
			var in *service.InputError
			require.True(t, errors.As(err, &in))
			require.Contains(t, err.Error(), "lowercase letters, digits")
		}
	}
}

func TestValidateSpec(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		cron  string
		every time.Duration
		want  string // "" when valid
	}{
		{"a daily cron", "0 6 * * *", 0, ""},
		{"a shorthand", "@daily", 0, ""},
		{"an interval", "", 24 * time.Hour, ""},
		{"two seconds", "", 2 * time.Second, ""},
		{"neither", "", 0, "say when it runs"},
		{"both", "0 6 * * *", time.Hour, "not both"},
		{"too short an interval", "", 500 * time.Millisecond, "give 1s to"},
		{"too long an interval", "", 400 * 24 * time.Hour, "give 1s to"},
		{"part of a second", "", 1500 * time.Millisecond, "whole seconds"},
		{"too few cron fields", "0 6 *", 0, "5 to 7 fields"},
		{"two lines", "0 6 * * *\n0 7 * * *", 0, "one line"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := service.ValidateSpec(c.cron, c.every)
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, c.want)
		})
	}
}

func TestScheduleRequestValidate(t *testing.T) {
	t.Parallel()
	base := service.ScheduleRequest{Name: "nightly", Every: time.Hour, Text: "reconcile nfe with clientes and persist to silver", By: service.Caller{ID: "ana"}}
	for _, c := range []struct {
		name string
		edit func(r *service.ScheduleRequest)
		want string
	}{
		{"text", nil, ""},
		{"a skill", func(r *service.ScheduleRequest) { r.Text, r.Skill = "", "3f2a9c01" }, ""},
		{"a signature", func(r *service.ScheduleRequest) { r.Text, r.Signature = "", &signature.Signature{Intent: "x"} }, ""},
		{"nothing to run", func(r *service.ScheduleRequest) { r.Text = "" }, "exactly one of TEXT, --skill ID or -f"},
		{"text and a skill", func(r *service.ScheduleRequest) { r.Skill = "3f2a9c01" }, "exactly one of"},
		{"nobody", func(r *service.ScheduleRequest) { r.By.ID = "" }, "who creates it"},
		{"a bad option", func(r *service.ScheduleRequest) { r.PartialFailureMode = "best_guess" }, "--partial-failure-mode"},
		{"a negative ceiling", func(r *service.ScheduleRequest) { r.CostCeilingDBU = -1 }, "--cost-ceiling"},
		{"a bad name", func(r *service.ScheduleRequest) { r.Name = "Nightly" }, "schedule name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := base
			if c.edit != nil {
				c.edit(&r)
			}
			err := r.Validate()
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, c.want)
			var in *service.InputError
			require.True(t, errors.As(err, &in), "an input error: %v", err)
		})
	}
}

func TestParseBackfill(t *testing.T) {
	t.Parallel()
	b, err := service.ParseBackfill("2026-01-01", "2026-01-03")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), b.From)
	require.Equal(t, time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), b.To)
	for _, c := range [][2]string{{"2026-01-03", "2026-01-01"}, {"2026-01-01", "03/01/2026"}, {"2024-01-01", "2025-06-01"}, {"", ""}} {
		_, err := service.ParseBackfill(c[0], c[1])
		require.Error(t, err, "%v", c)
	}
}

func TestPeriodsIn(t *testing.T) {
	t.Parallel()
	daily := client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{Second: []client.ScheduleRange{{Start: 0}}, Minute: []client.ScheduleRange{{Start: 0}}, Hour: []client.ScheduleRange{{Start: 6}}}}}
	require.Equal(t, 3, service.PeriodsIn(daily, 3))
	twiceAnHour := client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{Minute: []client.ScheduleRange{{Start: 0, End: 30, Step: 30}}, Hour: []client.ScheduleRange{{Start: 0, End: 23}}}}}
	require.Equal(t, 2*24*2, service.PeriodsIn(twiceAnHour, 2))
	every2s := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 2 * time.Second}}}
	require.Equal(t, 43200, service.PeriodsIn(every2s, 1))
	require.Greater(t, service.PeriodsIn(every2s, 1), service.MaxBackfillRuns, "a 2 s schedule cannot be backfilled over a day")
}
