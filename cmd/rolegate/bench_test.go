package main

import (
	"context"
	"io"
	"testing"
)

func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--api-concurrency", "0"},
		{"--api-requests", "0"},
		{"--dashboard-rows", "100"},
		{"--dashboard-rows", "10000,lots"},
		{"--dashboard-rows", ","},
		{"--event-rows", "10"},
		{"--sections", "api,nope"},
		{"--drift-roles", "3"},
		{"--drift-roles", "100", "--drift-sample", "101"},
	} {
		c := cli{args: append([]string{"--database-url", "postgres://x@127.0.0.1:1/x"}, args...),
			getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard}
		if err := cmdBench(context.Background(), c); err == nil {
			t.Errorf("bench %v: no error", args)
		}
	}
}
