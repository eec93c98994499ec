package resolution

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/signature"
)

// Phrases that select an execution mode (whitepaper 5.5 consistency_unit
// selection rules; docs/adr/0130):
//
//   - micro_batch with a time_window: "every 15 minutes", "a cada 15
//     minutos", "micro-batch of 5 minutes", "in 15 minute windows",
//     "janelas de 15 minutos", "every hour", "de hora em hora", "hourly";
//   - cross_dataset_atomic: "atomically", "atomicamente", "all or nothing",
//     "tudo ou nada", "in one transaction", "numa única transação".
//
// A window is a number and a unit of seconds, minutes or hours below a
// day; "every day" or "every 2 weeks" is a schedule, not a window, and
// blocks with the command that schedules an intent.

// maxWindow bounds a micro-batch window: a day or more is a schedule.
const maxWindow = 24 * time.Hour

var windowUnits = map[string]time.Duration{
	"second": time.Second, "seconds": time.Second, "sec": time.Second, "secs": time.Second, "segundo": time.Second, "segundos": time.Second,
	"minute": time.Minute, "minutes": time.Minute, "min": time.Minute, "mins": time.Minute, "minuto": time.Minute, "minutos": time.Minute,
	"hour": time.Hour, "hours": time.Hour, "hr": time.Hour, "hrs": time.Hour, "h": time.Hour, "hora": time.Hour, "horas": time.Hour,
}

// scheduleUnits are periods a schedule has, not a micro-batch.
var scheduleUnits = set("day", "days", "dia", "dias", "week", "weeks", "semana", "semanas", "month", "months", "mes", "meses", "year", "years", "ano", "anos")

var (
	everyWords  = set("every", "each", "cada")
	windowWords = set("window", "windows", "janela", "janelas")
	microWords  = set("microbatch", "microbatches", "microbatching", "micro_batch", "micro_batches", "microlote", "microlotes")
	batchWords  = set("batch", "batches", "batching", "lote", "lotes")
	atomicWords = set("atomically", "atomicamente", "atomic", "atomico", "atomica", "atomicos", "atomicas")
	atomicPairs = [][]string{{"all", "or", "nothing"}, {"tudo", "ou", "nada"}, {"single", "transaction"}, {"one", "transaction"},
		{"same", "transaction"}, {"uma", "transacao"}, {"unica", "transacao"}, {"mesma", "transacao"}}
)

// compactWindow reads "15m", "90s", "1h", "15min" written as one token.
func compactWindow(t string) (time.Duration, bool) {
	n := digits(t, len(t))
	if n == 0 || n == len(t) {
		return 0, false
	}
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "min": time.Minute, "mins": time.Minute, "h": time.Hour}[t[n:]]
	if unit == 0 {
		return 0, false
	}
	v, err := strconv.Atoi(t[:n])
	if err != nil {
		return 0, false
	}
	return time.Duration(v) * unit, true
}

// quantity reads "15 minutes", "15-minute", "15m" or a bare unit ("hour",
// as in "every hour") at i: the duration, the tokens it spans, and
// whether the unit is a schedule's (days and longer).
func (p *parsed) quantity(i int) (d time.Duration, n int, schedule bool, ok bool) {
	if i >= len(p.tokens) || p.used[i] {
		return 0, 0, false, false
	}
	t := p.tokens[i]
	if d, ok := compactWindow(t); ok {
		return d, 1, false, true
	}
	if u, ok := windowUnits[t]; ok && t != "h" {
		return u, 1, false, true
	}
	if scheduleUnits[t] {
		return 0, 1, true, true
	}
	if !isNumber(t) || i+1 >= len(p.tokens) {
		return 0, 0, false, false
	}
	v, err := strconv.Atoi(t)
	if err != nil {
		return 0, 0, false, false
	}
	u := p.tokens[i+1]
	if scheduleUnits[u] {
		return 0, 2, true, true
	}
	if unit, ok := windowUnits[u]; ok {
		return time.Duration(v) * unit, 2, false, true
	}
	return 0, 0, false, false
}

// scanModes reads the execution-mode phrases and consumes them.
func (p *parsed) scanModes() {
	var windows []time.Duration
	micro := -1
	// addWindow records the quantity at [at, at+n) of the phrase starting
	// at from.
	addWindow := func(from, at int, d time.Duration, n int, schedule bool) {
		p.consume(at, at+n)
		switch {
		case schedule:
			p.problems = append(p.problems, fmt.Sprintf("%q is a schedule, not a micro-batch window; submit the intent without it and schedule it (cfa schedule create NAME --every 24h TEXT), or give a window in minutes or hours, e.g. \"every 15 minutes\"", p.window(from, at+n)))
		case d < time.Minute || d >= maxWindow || maxWindow%d != 0:
			// The planner cuts each day into whole windows (docs/adr/0137).
			p.problems = append(p.problems, fmt.Sprintf("micro-batch window %q must be at least a minute, shorter than a day and divide a day into whole windows (e.g. 5, 15 or 30 minutes, 1 or 6 hours); for a daily run schedule the intent (cfa schedule create)", p.window(at, at+n)))
		default:
			windows = append(windows, d)
		}
	}
	for i := 0; i < len(p.tokens); i++ {
		t := p.tokens[i]
		if p.used[i] {
			continue
		}
		switch {
		case everyWords[t]:
			// "for each day" / "para cada dia" groups by a column; "each
			// 15 minutes" and "every hour" are windows.
			grouping := i > 0 && (p.tokens[i-1] == "for" || p.tokens[i-1] == "para")
			if d, n, sched, ok := p.quantity(i + 1); ok && (n == 2 || isNumber(digitsOf(p.tokens[i+1])) || t != "each" && !grouping) {
				p.used[i] = true
				if i > 0 && p.tokens[i-1] == "a" && t == "cada" {
					p.used[i-1] = true
				}
				addWindow(i, i+1, d, n, sched)
			}
		case t == "hourly" || t == "de" && i+3 < len(p.tokens) && p.tokens[i+1] == "hora" && p.tokens[i+2] == "em" && p.tokens[i+3] == "hora":
			n := 1
			if t == "de" {
				n = 4
			}
			p.consume(i, i+n)
			windows = append(windows, time.Hour)
		case microWords[t]:
			p.used[i] = true
			micro = i
		case t == "micro" && i+1 < len(p.tokens) && batchWords[p.tokens[i+1]]:
			p.consume(i, i+2)
			micro = i
		case windowWords[t]:
			// "15 minute windows" (the quantity before) or "windows of 15
			// minutes" (after).
			if i >= 2 && !p.used[i-2] {
				if d, n, sched, ok := p.quantity(i - 2); ok && n == 2 {
					p.used[i] = true
					addWindow(i-2, i-2, d, n, sched)
					continue
				}
			}
			if i >= 1 {
				if d, ok := compactWindow(p.tokens[i-1]); ok && !p.used[i-1] {
					p.used[i] = true
					addWindow(i-1, i-1, d, 1, false)
					continue
				}
			}
			j := i + 1
			if j < len(p.tokens) && (p.tokens[j] == "of" || p.tokens[j] == "de") {
				j++
			}
			if d, n, sched, ok := p.quantity(j); ok {
				p.consume(i, j)
				addWindow(i, j, d, n, sched)
			}
		case atomicWords[t]:
			p.atomic, p.used[i] = true, true
		default:
			for _, ph := range atomicPairs {
				if p.phraseAt(i, ph...) {
					p.atomic = true
					p.consume(i, i+len(ph))
					break
				}
			}
		}
	}
	// "micro-batch of 5 minutes", "micro-lotes de 5 minutos".
	if micro >= 0 && len(windows) == 0 {
		for j := micro + 1; j < len(p.tokens) && j <= micro+4; j++ {
			if d, n, sched, ok := p.quantity(j); ok {
				p.consume(micro+1, j)
				addWindow(micro, j, d, n, sched)
				break
			}
		}
	}
	if micro >= 0 && len(windows) == 0 && len(p.problems) == 0 {
		p.problems = append(p.problems, "micro-batch needs a window; write it, e.g. \"micro-batch of 15 minutes\" or \"every 15 minutes\"")
	}
	for _, w := range windows[min(1, len(windows)):] {
		if w != windows[0] {
			p.problems = append(p.problems, fmt.Sprintf("the intent gives two micro-batch windows, %s and %s; give one", formatWindow(windows[0]), formatWindow(w)))
			return
		}
	}
	if len(windows) > 0 {
		p.mode, p.timeWindow = signature.ModeMicroBatch, formatWindow(windows[0])
	}
}

// digitsOf returns the leading digits of t ("15" of "15m").
func digitsOf(t string) string { return t[:digits(t, len(t))] }

// phraseAt reports whether the free tokens at i spell words.
func (p *parsed) phraseAt(i int, words ...string) bool {
	if i+len(words) > len(p.tokens) {
		return false
	}
	for k, w := range words {
		if p.used[i+k] || p.tokens[i+k] != w {
			return false
		}
	}
	return true
}

// formatWindow writes a window as the Go duration it is, in its largest
// whole unit: 15m, 2h, 90s (time.ParseDuration reads it back).
func formatWindow(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// NormalizeTimeWindow checks a signature's time_window and writes it as
// Resolve does ("15m0s" → "15m"), so one window has one hash.
func NormalizeTimeWindow(w string) (string, error) {
	d, err := time.ParseDuration(strings.TrimSpace(w))
	if err != nil {
		return "", fmt.Errorf("time_window %q is not a duration; write e.g. 15m or 1h", w)
	}
	if d < time.Minute || d >= maxWindow || maxWindow%d != 0 {
		return "", fmt.Errorf("time_window %q must be at least 1m, below 24h and divide a day into whole windows (e.g. 5m, 15m, 1h, 6h); for daily runs schedule the intent (cfa schedule create)", w)
	}
	return formatWindow(d), nil
}
