package grant

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseScope(t *testing.T) {
	many := make([]string, 40)
	for i := range many {
		many[i] = "s" + strings.Repeat("x", i)
	}
	tests := []struct {
		name string
		in   string
		want []string
		code string
	}{
		{"empty", "", nil, ""},
		{"only spaces", "   ", nil, ""},
		{"one", "read", []string{"read"}, ""},
		{"two", "read write", []string{"read", "write"}, ""},
		{"extra spaces", "  read   write ", []string{"read", "write"}, ""},
		{"duplicates collapsed", "read write read write", []string{"read", "write"}, ""},
		{"order kept", "b a c a", []string{"b", "a", "c"}, ""},
		{"all allowed chars", "!#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[]^_`abcxyz{|}~", []string{"!#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[]^_`abcxyz{|}~"}, ""},
		{"url-like scope", "https://api.example.com/read mcp:tools", []string{"https://api.example.com/read", "mcp:tools"}, ""},
		{"many with duplicates", strings.Join(append(many, many...), " "), many, ""},
		{"double quote", `read "write"`, nil, CodeInvalidScope},
		{"backslash", `read\write`, nil, CodeInvalidScope},
		{"tab separator", "read\twrite", nil, CodeInvalidScope},
		{"newline", "read\n", nil, CodeInvalidScope},
		{"non-ascii", "lecture é", nil, CodeInvalidScope},
		{"DEL", "read\x7f", nil, CodeInvalidScope},
		{"NUL", "read\x00", nil, CodeInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			wantCode(t, err, tt.code)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseScope(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestFormatScope(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"read"}, "read"},
		{[]string{"read", "write", "mcp:tools"}, "read write mcp:tools"},
	}
	for _, tt := range tests {
		if got := FormatScope(tt.in); got != tt.want {
			t.Errorf("FormatScope(%q) = %q, want %q", tt.in, got, tt.want)
		}
		back, err := ParseScope(FormatScope(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.in, back); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestScopeSubset(t *testing.T) {
	big := make([]string, 30)
	for i := range big {
		big[i] = "g" + strings.Repeat("y", i)
	}
	tests := []struct {
		name      string
		requested []string
		granted   []string
		want      bool
	}{
		{"empty request", nil, []string{"read"}, true},
		{"both empty", nil, nil, true},
		{"equal", []string{"read", "write"}, []string{"write", "read"}, true},
		{"narrower", []string{"read"}, []string{"read", "write"}, true},
		{"wider", []string{"read", "admin"}, []string{"read", "write"}, false},
		{"nothing granted", []string{"read"}, nil, false},
		{"case sensitive", []string{"Read"}, []string{"read"}, false},
		{"big set subset", big[3:10], big, true},
		{"big set not subset", append([]string{"zzz"}, big[3:10]...), big, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ScopeSubset(tt.requested, tt.granted); got != tt.want {
				t.Errorf("ScopeSubset(%q, %q) = %v, want %v", tt.requested, tt.granted, got, tt.want)
			}
		})
	}
}

func TestValidateScopes(t *testing.T) {
	offered := []string{"read", "write", "mcp:tools"}
	tests := []struct {
		name      string
		requested []string
		code      string
		mentions  string
	}{
		{"none requested", nil, "", ""},
		{"all known", []string{"read", "mcp:tools"}, "", ""},
		{"one unknown", []string{"read", "admin", "root"}, CodeInvalidScope, "'admin'"},
		{"case differs", []string{"READ"}, CodeInvalidScope, "'READ'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateScopes(tt.requested, offered)
			wantCode(t, err, tt.code)
			if tt.mentions != "" && !strings.Contains(err.Error(), tt.mentions) {
				t.Errorf("error %q does not name %s", err, tt.mentions)
			}
		})
	}
	wantCode(t, ValidateScopes([]string{"read"}, nil), CodeInvalidScope)
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"", "read write", "  a  b a ", `"x"`, "a\tb", "é", strings.Repeat("a ", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseScope(s)
		if err != nil {
			if got != nil {
				t.Fatalf("ParseScope(%q) returned scopes with an error", s)
			}
			wantCode(t, err, CodeInvalidScope)
			return
		}
		seen := map[string]bool{}
		for _, tok := range got {
			if tok == "" || seen[tok] {
				t.Fatalf("ParseScope(%q) = %q: empty or duplicate token", s, got)
			}
			seen[tok] = true
			for i := 0; i < len(tok); i++ {
				if !isScopeChar(tok[i]) {
					t.Fatalf("token %q has forbidden byte %#x", tok, tok[i])
				}
			}
			if !strings.Contains(" "+s+" ", " "+tok+" ") {
				t.Fatalf("token %q not in input %q", tok, s)
			}
		}
		again, err := ParseScope(FormatScope(got))
		if err != nil || !cmp.Equal(got, again) {
			t.Fatalf("round trip of %q: %q, %v", got, again, err)
		}
		if !ScopeSubset(got, got) || ValidateScopes(got, got) != nil {
			t.Fatalf("scope set %q is not a subset of itself", got)
		}
	})
}
