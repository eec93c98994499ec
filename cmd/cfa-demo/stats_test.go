package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100..1, unsorted
	}
	fifty := make([]int, 50)
	for i := range fifty {
		fifty[i] = i + 1
	}
	tests := []struct {
		name string
		xs   []int
		p    int
		want int
	}{
		{"empty", nil, 50, 0},
		{"one", []int{7}, 99, 7},
		{"odd median", []int{3, 1, 2}, 50, 2},
		{"even median is the lower one", []int{4, 1, 3, 2}, 50, 2},
		{"p99 of 100", hundred, 99, 99},
		{"p100 of 100", hundred, 100, 100},
		{"p50 of 100", hundred, 50, 50},
		{"p99 of 50 is the max", fifty, 99, 50},
		{"p1 of 50", fifty, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]int(nil), tt.xs...)
			require.Equal(t, tt.want, percentile(tt.xs, tt.p))
			require.Equal(t, before, tt.xs, "input must not be reordered")
		})
	}
}

func TestMedianMatchesP50(t *testing.T) {
	tests := []struct {
		name string
		xs   []int
		want int
	}{
		{"history sizes", []int{2048, 1024, 4096}, 2048},
		{"even count", []int{10, 40, 20, 30}, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, median(tt.xs))
			require.Equal(t, percentile(tt.xs, 50), median(tt.xs))
		})
	}
}
