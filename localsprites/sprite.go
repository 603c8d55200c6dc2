package localsprites

import (
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// meta is a sprite's persistent state: the content of its sprite.json.
type meta struct {
	ID          string                `json:"id"`
	Name        string                `json:"name"`
	CreatedAt   time.Time             `json:"created_at"`
	UpdatedAt   time.Time             `json:"updated_at"`
	URLSettings sprites.URLSettings   `json:"url_settings"`
	Labels      []string              `json:"labels,omitempty"`
	Config      *sprites.Config       `json:"config,omitempty"`
	Port        int                   `json:"port"`
	NextCP      int                   `json:"next_checkpoint"`
	Checkpoints []checkpointMeta      `json:"checkpoints"`
	Source      string                `json:"source,omitempty"` // checkpoint the files last came from
	Services    map[string]*svcMeta   `json:"services,omitempty"`
	Policy      sprites.NetworkPolicy `json:"policy"`
	LastRunning *time.Time            `json:"last_running_at,omitempty"`
}

type checkpointMeta struct {
	ID         string    `json:"id"`
	CreateTime time.Time `json:"create_time"`
	Comment    string    `json:"comment,omitempty"`
	SourceID   string    `json:"source_id,omitempty"`
}

// svcMeta is a service definition and whether it was stopped on purpose
// (a stop is sticky: the service is not started again on wake).
type svcMeta struct {
	Def     sprites.Service `json:"def"`
	Stopped bool            `json:"stopped"`
}

// sprite is one live sprite.
type sprite struct {
	srv *Server
	dir string

	// envMu serialises operations on the whole environment (checkpoint,
	// restore, delete: write lock) against file operations and exec starts
	// (read lock), so a restore never interleaves with a write.
	envMu sync.RWMutex

	mu         sync.Mutex // guards the fields below
	meta       meta
	deleted    bool
	sessions   map[int]*session
	services   map[string]*serviceProc
	sandbox    *sandbox
	active     int // live sessions, services serving, in-flight operations
	lastActive time.Time
	cold       bool
	coldTimer  *time.Timer
}

func (sp *sprite) homeDir() string        { return filepath.Join(sp.dir, "home") }
func (sp *sprite) checkpointsDir() string { return filepath.Join(sp.dir, "checkpoints") }
func (sp *sprite) logsDir() string        { return filepath.Join(sp.dir, "logs") }
func (sp *sprite) metaPath() string       { return filepath.Join(sp.dir, "sprite.json") }

// status derives the status from activity: running while anything is active
// and for WarmAfter after that, warm until the cold timer fires, then cold.
func (sp *sprite) statusLocked(now time.Time) string {
	idle := sp.srv.cfg.Idle
	switch {
	case sp.active > 0:
		return sprites.StatusRunning
	case sp.cold:
		return sprites.StatusCold
	case idle.WarmAfter < 0 || now.Sub(sp.lastActive) < idle.WarmAfter:
		return sprites.StatusRunning
	}
	return sprites.StatusWarm
}

// begin marks the start of an activity; it wakes a warm or cold sprite.
// Every begin is paired with an end.
func (sp *sprite) begin() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.active++
	now := time.Now().UTC()
	sp.lastActive = now
	if sp.cold {
		sp.cold = false
		if len(sp.meta.Services) > 0 {
			sp.wake()
		}
	}
	sp.meta.LastRunning = &now
	if sp.coldTimer != nil {
		sp.coldTimer.Stop()
		sp.coldTimer = nil
	}
}

// end marks the end of an activity and arms the cold timer when the sprite
// became idle.
func (sp *sprite) end() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.active--
	sp.lastActive = time.Now().UTC()
	if sp.active > 0 || sp.deleted || sp.srv.closing.Load() {
		return
	}
	idle := sp.srv.cfg.Idle
	if idle.WarmAfter < 0 || idle.ColdAfter < 0 {
		return
	}
	if sp.coldTimer != nil {
		sp.coldTimer.Stop()
	}
	sp.coldTimer = time.AfterFunc(idle.WarmAfter+idle.ColdAfter, sp.goCold)
}

// goCold stops the sprite's processes when it is still idle, like a VM
// being shut down: processes start fresh on the next wake.
func (sp *sprite) goCold() {
	sp.envMu.Lock()
	defer sp.envMu.Unlock()
	sp.mu.Lock()
	idle := sp.srv.cfg.Idle
	if sp.deleted || sp.active > 0 || sp.cold || time.Since(sp.lastActive) < idle.WarmAfter+idle.ColdAfter {
		sp.mu.Unlock()
		return
	}
	sp.cold = true
	sp.coldTimer = nil
	sp.mu.Unlock()
	sp.srv.log.Info("sprite went cold", "sprite", sp.meta.Name)
	sp.stopEverything(false)
}

// lastWarming is when the sprite last became warm, or nil.
func (sp *sprite) lastWarmingLocked(now time.Time) *time.Time {
	if sp.statusLocked(now) == sprites.StatusRunning || sp.lastActive.IsZero() {
		return nil
	}
	t := sp.lastActive.Add(sp.srv.cfg.Idle.WarmAfter)
	return &t
}

// acquire starts an operation on the sprite's environment: it takes the
// environment lock for reading (a restore or delete waits for it) and wakes
// the sprite. It answers 404 itself when the sprite was deleted meanwhile.
// Every successful acquire is paired with release.
func (sp *sprite) acquire(w http.ResponseWriter) bool {
	sp.envMu.RLock()
	sp.mu.Lock()
	deleted := sp.deleted
	sp.mu.Unlock()
	if deleted {
		sp.envMu.RUnlock()
		writeError(w, http.StatusNotFound, "sprite not found")
		return false
	}
	sp.begin()
	return true
}

func (sp *sprite) release() {
	sp.end()
	sp.envMu.RUnlock()
}
