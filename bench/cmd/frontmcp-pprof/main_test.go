package main

import (
	"strings"
	"testing"
)

func TestServePprofLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr    string
		wantErr string
	}{
		{"0.0.0.0:0", "must be a loopback IP address"},
		{"localhost:0", "must be a loopback IP address"},
		{"192.0.2.1:6060", "must be a loopback IP address"},
		{"127.0.0.1", "BENCH_PPROF_ADDR"},
		{"127.0.0.1:0", ""},
		{"[::1]:0", ""},
	}
	for _, tt := range tests {
		err := servePprof(tt.addr)
		switch {
		case tt.wantErr == "" && err != nil && !strings.Contains(err.Error(), "cannot assign requested address"):
			t.Errorf("servePprof(%q) = %v", tt.addr, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("servePprof(%q) = %v, want an error containing %q", tt.addr, err, tt.wantErr)
		}
	}
}
