package grant

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Code: CodeInvalidGrant}, "invalid_grant"},
		{&Error{Code: CodeInvalidScope, Description: "scope 'x' is not supported"}, "invalid_scope: scope 'x' is not supported"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorIs(t *testing.T) {
	e := Errorf(CodeInvalidGrant, "code expired")
	wrapped := fmt.Errorf("redeem: %w", e)
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"same code", e, ErrInvalidGrant, true},
		{"wrapped", wrapped, ErrInvalidGrant, true},
		{"other code", e, ErrInvalidRequest, false},
		{"plain error", errors.New("invalid_grant"), ErrInvalidGrant, false},
		{"nil sentinel pointer", e, (*Error)(nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is = %v, want %v", got, tt.want)
			}
		})
	}
	var as *Error
	if !errors.As(wrapped, &as) || as.Description != "code expired" {
		t.Errorf("errors.As did not recover the *Error: %v", as)
	}
}

func TestErrorfSanitizes(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"plain text 123", "plain text 123"},
		{`quote " and backslash \`, "quote ? and backslash ?"},
		{"newline\nand tab\t", "newline?and tab?"},
		{"non-ascii é", "non-ascii ??"},
		{strings.Repeat("a", 300), strings.Repeat("a", maxDescription)},
	}
	for _, tt := range tests {
		got := Errorf(CodeInvalidRequest, "%s", tt.in).Description
		if got != tt.want {
			t.Errorf("Errorf(%q).Description = %q, want %q", tt.in, got, tt.want)
		}
		for i := 0; i < len(got); i++ {
			if !isNQSChar(got[i]) {
				t.Errorf("description %q has forbidden byte %#x", got, got[i])
			}
		}
	}
}

func TestErrorJSON(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Code: CodeInvalidClient}, `{"error":"invalid_client"}`},
		{&Error{Code: CodeInvalidTarget, Description: "d", URI: "https://e.example/doc"}, `{"error":"invalid_target","error_description":"d","error_uri":"https://e.example/doc"}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.err)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, string(b)); diff != "" {
			t.Errorf("JSON (-want +got):\n%s", diff)
		}
	}
}

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{CodeInvalidRequest, http.StatusBadRequest},
		{CodeInvalidClient, http.StatusUnauthorized},
		{CodeInvalidGrant, http.StatusBadRequest},
		{CodeUnauthorizedClient, http.StatusBadRequest},
		{CodeUnsupportedGrantType, http.StatusBadRequest},
		{CodeInvalidScope, http.StatusBadRequest},
		{CodeInvalidTarget, http.StatusBadRequest},
		{CodeTemporarilyUnavailable, http.StatusServiceUnavailable},
		{CodeServerError, http.StatusInternalServerError},
		{CodeInvalidToken, http.StatusUnauthorized},
		{CodeInsufficientScope, http.StatusForbidden},
		{CodeInvalidRedirectURI, http.StatusBadRequest},
		{CodeInvalidClientMetadata, http.StatusBadRequest},
		{CodeUnsupportedTokenType, http.StatusBadRequest},
	}
	for _, tt := range tests {
		if got := (&Error{Code: tt.code}).HTTPStatus(); got != tt.want {
			t.Errorf("HTTPStatus(%s) = %d, want %d", tt.code, got, tt.want)
		}
	}
}

// wantCode checks that err is an *Error with the given code ("" = nil error).
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want *Error with code %s", err, code)
	}
	if e.Code != code {
		t.Fatalf("error code = %s (%s), want %s", e.Code, e.Description, code)
	}
	if e.Description == "" {
		t.Fatalf("error %s has no description", code)
	}
}
