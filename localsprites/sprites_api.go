package localsprites

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

const (
	maxListResults = 50
	orgName        = "local"
)

func (s *Server) createSprite(w http.ResponseWriter, r *http.Request) {
	var req sprites.CreateRequest
	if err := decodeBody(r, &req); err != nil {
		writeInvalid(w, "invalid request body: "+err.Error())
		return
	}
	if sprites.ValidateName(req.Name) != nil {
		writeInvalid(w, "invalid sprite name format")
		return
	}
	settings := sprites.URLSettings{Auth: sprites.AuthSprite}
	if req.URLSettings != nil {
		if !validAuth(req.URLSettings.Auth) {
			writeInvalid(w, "invalid auth type, must be one of: sprite, public")
			return
		}
		settings = *req.URLSettings
		if settings.Auth == "" {
			settings.Auth = sprites.AuthSprite
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		writeError(w, http.StatusServiceUnavailable, "server is shutting down")
		return
	}
	if _, ok := s.sprites[req.Name]; ok {
		writeError(w, http.StatusConflict, fmt.Sprintf("A sprite named '%s' already exists. Please choose a different name.", req.Name))
		return
	}
	port, err := s.freePort()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	dir := filepath.Join(s.spritesDir(), req.Name)
	_ = os.RemoveAll(dir) // leftovers of a create that crashed half-way
	sp := s.newSprite(dir)
	now := time.Now().UTC()
	sp.meta = meta{
		ID:          newSpriteID(),
		Name:        req.Name,
		CreatedAt:   now,
		UpdatedAt:   now,
		URLSettings: settings,
		Labels:      slices.Clone(req.Labels),
		Config:      req.Config,
		Port:        port,
		Policy:      sprites.NetworkPolicy{Rules: []sprites.PolicyRule{}},
	}
	sp.cold = true
	if err := s.initSpriteDir(sp); err != nil {
		_ = os.RemoveAll(dir)
		s.log.Error("creating sprite", "sprite", req.Name, "err", err)
		writeError(w, http.StatusInternalServerError, "failed to create sprite: "+err.Error())
		return
	}
	s.sprites[req.Name] = sp
	s.log.Info("sprite created", "sprite", req.Name)
	writeJSON(w, http.StatusCreated, s.view(sp, r))
}

// initSpriteDir makes the sprite's directories, the v0 checkpoint of its
// empty home, and then its metadata (last, so a crash leaves no sprite).
func (s *Server) initSpriteDir(sp *sprite) error {
	for _, d := range []string{sp.homeDir(), sp.checkpointsDir(), sp.logsDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	if err := copyTree(sp.homeDir(), filepath.Join(sp.checkpointsDir(), "v0")); err != nil {
		return fmt.Errorf("checkpoint v0: %w", err)
	}
	sp.meta.Checkpoints = []checkpointMeta{{ID: "v0", CreateTime: sp.meta.CreatedAt, Comment: "initial state"}}
	sp.meta.NextCP = 1
	sp.meta.Source = "v0"
	return sp.save()
}

func validAuth(a string) bool {
	return a == "" || a == sprites.AuthSprite || a == sprites.AuthPublic
}

// view is the sprite as the API shows it.
func (s *Server) view(sp *sprite, r *http.Request) sprites.Sprite {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	now := time.Now().UTC()
	settings := sp.meta.URLSettings
	v := sprites.Sprite{
		ID:            sp.meta.ID,
		Name:          sp.meta.Name,
		Organization:  orgName,
		Status:        sp.statusLocked(now),
		URL:           s.publicBase(r) + proxyPrefix + sp.meta.Name + "/",
		URLSettings:   &settings,
		Labels:        slices.Clone(sp.meta.Labels),
		CreatedAt:     sp.meta.CreatedAt,
		UpdatedAt:     sp.meta.UpdatedAt,
		LastRunningAt: sp.meta.LastRunning,
		LastWarmingAt: sp.lastWarmingLocked(now),
		Config:        sp.meta.Config,
	}
	if v.Labels == nil {
		v.Labels = []string{}
	}
	return v
}

func (s *Server) getSprite(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opSpriteGet)
	if sp == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.view(sp, r))
}

// listSprites pages by name. The continuation token is opaque to clients:
// it encodes the last name returned.
func (s *Server) listSprites(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	prefix := q.Get("prefix")
	limit := maxListResults
	if v := q.Get("max_results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeInvalid(w, "max_results must be a positive integer")
			return
		}
		limit = min(n, maxListResults)
	}
	after := ""
	if tok := q.Get("continuation_token"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || !strings.HasPrefix(string(raw), "after:") {
			writeInvalid(w, "invalid continuation_token")
			return
		}
		after = strings.TrimPrefix(string(raw), "after:")
	}

	s.mu.Lock()
	all := make([]*sprite, 0, len(s.sprites))
	for name, sp := range s.sprites {
		if strings.HasPrefix(name, prefix) && name > after {
			all = append(all, sp)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b *sprite) int { return strings.Compare(a.meta.Name, b.meta.Name) })

	page := sprites.ListPage{Sprites: []sprites.Sprite{}}
	stats := sprites.OrgStats{Name: orgName}
	for i, sp := range all {
		if i == limit {
			page.HasMore = true
			tok := base64.RawURLEncoding.EncodeToString([]byte("after:" + all[i-1].meta.Name))
			page.NextContinuationToken = &tok
			break
		}
		v := s.view(sp, r)
		switch v.Status {
		case sprites.StatusRunning:
			stats.Running++
		case sprites.StatusWarm:
			stats.Warm++
		default:
			stats.Cold++
		}
		page.Sprites = append(page.Sprites, v)
	}
	page.Org = &stats
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) updateSprite(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opSpriteUpdate)
	if sp == nil {
		return
	}
	var req sprites.UpdateRequest
	if err := decodeBody(r, &req); err != nil {
		writeInvalid(w, "invalid request body: "+err.Error())
		return
	}
	if req.URLSettings != nil && !validAuth(req.URLSettings.Auth) {
		writeInvalid(w, "invalid auth type, must be one of: sprite, public")
		return
	}
	sp.mu.Lock()
	if req.URLSettings != nil {
		if req.URLSettings.Auth != "" {
			sp.meta.URLSettings.Auth = req.URLSettings.Auth
		}
		if req.URLSettings.PrivateAccess != "" {
			sp.meta.URLSettings.PrivateAccess = req.URLSettings.PrivateAccess
		}
	}
	if req.ClearLabels {
		sp.meta.Labels = nil
	}
	if req.Labels != nil {
		sp.meta.Labels = slices.Clone(*req.Labels)
	}
	sp.meta.UpdatedAt = time.Now().UTC()
	err := sp.saveLocked()
	sp.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "failed to update sprite: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.view(sp, r))
}

// deleteSprite kills the sprite's processes and removes its files and
// checkpoints.
func (s *Server) deleteSprite(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opSpriteDelete)
	if sp == nil {
		return
	}
	sp.envMu.Lock()
	defer sp.envMu.Unlock()
	sp.mu.Lock()
	if sp.deleted {
		sp.mu.Unlock()
		writeError(w, http.StatusNotFound, "sprite not found")
		return
	}
	sp.deleted = true
	if sp.coldTimer != nil {
		sp.coldTimer.Stop()
		sp.coldTimer = nil
	}
	sp.mu.Unlock()
	s.mu.Lock()
	if s.sprites[sp.meta.Name] == sp {
		delete(s.sprites, sp.meta.Name)
	}
	s.mu.Unlock()

	sp.stopEverything(true)
	if err := s.moveToTrash(sp.dir); err != nil {
		s.log.Error("deleting sprite files", "sprite", sp.meta.Name, "err", err)
		writeError(w, http.StatusInternalServerError, "failed to delete sprite")
		return
	}
	s.log.Info("sprite deleted", "sprite", sp.meta.Name)
	w.WriteHeader(http.StatusNoContent)
}
