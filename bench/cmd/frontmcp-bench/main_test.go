package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseInts(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"1,16,64", []int{1, 16, 64}, false},
		{" 4 , 8 ,", []int{4, 8}, false},
		{"", nil, true},
		{"1,x", nil, true},
		{"0", nil, true},
		{"-3", nil, true},
	}
	for _, tt := range tests {
		got, err := parseInts(tt.in)
		if (err != nil) != tt.wantErr || !cmp.Equal(got, tt.want) {
			t.Errorf("parseInts(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseList(t *testing.T) {
	if got := parseList(" memory, ,file "); !cmp.Equal(got, []string{"memory", "file"}) {
		t.Errorf("parseList = %q", got)
	}
	if got := parseList("  "); got != nil {
		t.Errorf("parseList(blank) = %q, want nil", got)
	}
}

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "flag provided but not defined"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-c", "0"}, "-c:"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tt.args, &stdout, &stderr); code != 2 {
			t.Errorf("run(%q) = %d, want 2", tt.args, code)
		}
		if !strings.Contains(stderr.String(), tt.want) || stdout.Len() != 0 {
			t.Errorf("run(%q): stdout %q, stderr %q; want %q on stderr", tt.args, stdout.String(), stderr.String(), tt.want)
		}
	}
}

func TestRunHarnessError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-stores", "mongo", "-crypto=false"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), `unknown store "mongo"`) {
		t.Errorf("run with an unknown store = %d, stderr %q", code, stderr.String())
	}
}
