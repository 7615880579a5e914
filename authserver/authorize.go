package authserver

import "net/http"

// Placeholder until the authorization endpoint lands.

func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request)     { http.NotFound(w, r) }
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	http.NotFound(w, r)
}
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request)   { http.NotFound(w, r) }
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }

type pages struct{}

func newPages(serverName string) (*pages, error) { return &pages{}, nil }
