package localsprites

import (
	"net/http"
	"slices"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// Network policies are stored and returned, not enforced: a local sprite
// shares the host's network.

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opPolicyGet)
	if sp == nil {
		return
	}
	sp.mu.Lock()
	p := sprites.NetworkPolicy{Rules: slices.Clone(sp.meta.Policy.Rules)}
	sp.mu.Unlock()
	if p.Rules == nil {
		p.Rules = []sprites.PolicyRule{}
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) setPolicy(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opPolicySet)
	if sp == nil {
		return
	}
	var p sprites.NetworkPolicy
	if err := decodeBody(r, &p); err != nil {
		writeText(w, http.StatusBadRequest, "invalid policy: "+err.Error())
		return
	}
	for _, rule := range p.Rules {
		if rule.Action != "" && rule.Action != "allow" && rule.Action != "deny" {
			writeText(w, http.StatusBadRequest, "invalid policy: action must be allow or deny, got "+rule.Action)
			return
		}
		if rule.Domain == "" && rule.Include == "" {
			writeText(w, http.StatusBadRequest, "invalid policy: a rule needs a domain or an include")
			return
		}
	}
	if p.Rules == nil {
		p.Rules = []sprites.PolicyRule{}
	}
	sp.mu.Lock()
	sp.meta.Policy = p
	err := sp.saveLocked()
	sp.mu.Unlock()
	if err != nil {
		writeText(w, http.StatusInternalServerError, err.Error())
		return
	}
	if s.cfg.Quirks.PolicyPostNoContent {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
