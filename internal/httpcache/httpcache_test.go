package httpcache

import (
	"net/http"
	"testing"
	"time"
)

func TestMaxAge(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{"none", http.Header{}, 0, false},
		{"other directives", http.Header{"Cache-Control": {"public, must-revalidate"}}, 0, false},
		{"max-age", http.Header{"Cache-Control": {"public, max-age=300"}}, 300 * time.Second, true},
		{"quoted", http.Header{"Cache-Control": {`max-age="60"`}}, time.Minute, true},
		{"case and spaces", http.Header{"Cache-Control": {" Max-Age = 60 "}}, time.Minute, true},
		{"two fields", http.Header{"Cache-Control": {"public", "max-age=10"}}, 10 * time.Second, true},
		{"less age", http.Header{"Cache-Control": {"max-age=300"}, "Age": {"100"}}, 200 * time.Second, true},
		{"older than max-age", http.Header{"Cache-Control": {"max-age=10"}, "Age": {"30"}}, -20 * time.Second, true},
		{"bad age ignored", http.Header{"Cache-Control": {"max-age=10"}, "Age": {"x"}}, 10 * time.Second, true},
		{"no-store", http.Header{"Cache-Control": {"max-age=300, no-store"}}, 0, true},
		{"no-cache", http.Header{"Cache-Control": {"no-cache"}}, 0, true},
		{"invalid", http.Header{"Cache-Control": {"max-age=soon"}}, 0, true},
		{"negative", http.Header{"Cache-Control": {"max-age=-5"}}, 0, true},
		{"huge", http.Header{"Cache-Control": {"max-age=99999999999"}}, (1 << 31) * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MaxAge(tt.header)
			if got != tt.want || ok != tt.ok {
				t.Errorf("MaxAge = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzMaxAge(f *testing.F) {
	f.Add("max-age=60", "5")
	f.Add(`no-store, max-age="1"`, "")
	f.Fuzz(func(t *testing.T, cc, age string) {
		d, ok := MaxAge(http.Header{"Cache-Control": {cc}, "Age": {age}})
		if !ok && d != 0 {
			t.Fatalf("MaxAge = %v without a directive", d)
		}
		if d > (1<<31)*time.Second {
			t.Fatalf("MaxAge = %v, above the cap", d)
		}
	})
}
