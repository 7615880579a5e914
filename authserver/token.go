package authserver

import "net/http"

// Placeholder until the token endpoint lands.

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request)    { http.NotFound(w, r) }
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
