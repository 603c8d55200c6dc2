package sprites

import "time"

// Sprite is a sprite as the API describes it.
type Sprite struct {
	ID                 string       `json:"id,omitempty"`
	Name               string       `json:"name"`
	Organization       string       `json:"organization,omitempty"`
	Status             string       `json:"status,omitempty"` // cold, warm or running
	URL                string       `json:"url,omitempty"`
	URLSettings        *URLSettings `json:"url_settings,omitempty"`
	Labels             []string     `json:"labels,omitempty"`
	CreatedAt          time.Time    `json:"created_at,omitzero"`
	UpdatedAt          time.Time    `json:"updated_at,omitzero"`
	LastRunningAt      *time.Time   `json:"last_running_at,omitempty"`
	LastWarmingAt      *time.Time   `json:"last_warming_at,omitempty"`
	Version            *string      `json:"version,omitempty"`
	EnvironmentVersion *string      `json:"environment_version,omitempty"`
	Config             *Config      `json:"config,omitempty"`
}

// Sprite statuses.
const (
	StatusCold    = "cold"
	StatusWarm    = "warm"
	StatusRunning = "running"
)

// URLSettings says who may reach the sprite's URL: "sprite" (org members,
// the default) or "public".
type URLSettings struct {
	Auth          string `json:"auth,omitempty"`
	PrivateAccess string `json:"private_access,omitempty"`
}

// URL auth values.
const (
	AuthSprite = "sprite"
	AuthPublic = "public"
)

// Config is the resource request SDKs send on create. The service documents
// these as not configurable; they are passed through.
type Config struct {
	RAMMB     int    `json:"ram_mb,omitempty"`
	CPUs      int    `json:"cpus,omitempty"`
	Region    string `json:"region,omitempty"`
	StorageGB int    `json:"storage_gb,omitempty"`
}

// CreateRequest is the body of POST /v1/sprites.
type CreateRequest struct {
	Name            string       `json:"name"`
	WaitForCapacity bool         `json:"wait_for_capacity,omitempty"`
	URLSettings     *URLSettings `json:"url_settings,omitempty"`
	Labels          []string     `json:"labels,omitempty"`
	Config          *Config      `json:"config,omitempty"`
}

// UpdateRequest is the body of PUT /v1/sprites/{name}. Labels, when non-nil,
// replace the sprite's labels.
type UpdateRequest struct {
	URLSettings *URLSettings `json:"url_settings,omitempty"`
	Labels      *[]string    `json:"labels,omitempty"`
	ClearLabels bool         `json:"clear_labels,omitempty"`
}

// ListOptions filter and page GET /v1/sprites.
type ListOptions struct {
	Prefix            string
	MaxResults        int // 0 means the server's default
	ContinuationToken string
}

// ListPage is one page of sprites.
type ListPage struct {
	Sprites               []Sprite  `json:"sprites"`
	HasMore               bool      `json:"has_more"`
	NextContinuationToken *string   `json:"next_continuation_token"`
	Org                   *OrgStats `json:"org,omitempty"`
	Running               *int      `json:"running,omitempty"`
	Warm                  *int      `json:"warm,omitempty"`
	Cold                  *int      `json:"cold,omitempty"`
}

// NextToken is the continuation token, or "" when the listing is complete.
// The real service has answered has_more:true with a null token; a null or
// empty token ends the listing whatever has_more says.
func (p *ListPage) NextToken() string {
	if p.NextContinuationToken == nil {
		return ""
	}
	return *p.NextContinuationToken
}

// OrgStats are the organisation's counters some list answers carry.
type OrgStats struct {
	Name         string `json:"name,omitempty"`
	Running      int    `json:"running"`
	Warm         int    `json:"warm"`
	Cold         int    `json:"cold"`
	RunningLimit int    `json:"running_limit,omitempty"`
	WarmLimit    int    `json:"warm_limit,omitempty"`
}

// Checkpoint is a saved state of a sprite's writable filesystem.
type Checkpoint struct {
	ID         string    `json:"id"`
	CreateTime time.Time `json:"create_time,omitzero"`
	Comment    string    `json:"comment,omitempty"`
	IsAuto     bool      `json:"is_auto,omitempty"`
	History    []string  `json:"history,omitempty"`
	SourceID   string    `json:"source_id,omitempty"`
}

// CurrentCheckpointID is the pseudo-entry the list puts first.
const CurrentCheckpointID = "Current"

// CheckpointRequest is the body of POST /v1/sprites/{name}/checkpoint.
type CheckpointRequest struct {
	Comment string `json:"comment,omitempty"`
}

// ExecSession is an exec session as GET /v1/sprites/{name}/exec lists it.
// ID is the PID; the JSON carries it as a number.
type ExecSession struct {
	ID             int64     `json:"id"`
	Command        string    `json:"command"`
	Workdir        string    `json:"workdir,omitempty"`
	Created        time.Time `json:"created,omitzero"`
	BytesPerSecond float64   `json:"bytes_per_second"`
	IsActive       bool      `json:"is_active"`
	LastActivity   time.Time `json:"last_activity,omitzero"`
	TTY            bool      `json:"tty"`
}

// SessionList is the answer of GET /v1/sprites/{name}/exec.
type SessionList struct {
	Sessions []ExecSession `json:"sessions"`
}

// KillRequest is the JSON form of a kill request's options.
type KillRequest struct {
	Signal  string `json:"signal,omitempty"`
	Timeout any    `json:"timeout,omitempty"` // seconds (number) or a Go duration string
}

// FileEntry is one entry of a filesystem listing. The filesystem API speaks
// camelCase, unlike the rest of the API.
type FileEntry struct {
	Name    string    `json:"name"`
	Path    string    `json:"path"`
	Type    string    `json:"type"` // "file" or "directory"
	Size    int64     `json:"size"`
	Mode    string    `json:"mode"` // octal string, e.g. "0644"
	ModTime time.Time `json:"modTime,omitzero"`
	IsDir   bool      `json:"isDir"`
}

// FileList is the answer of GET fs/list.
type FileList struct {
	Path    string      `json:"path"`
	Entries []FileEntry `json:"entries"`
	Count   int         `json:"count"`
}

// WriteResult is the answer of PUT fs/write.
type WriteResult struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	Mode string `json:"mode"`
}

// DeleteResult is the answer of DELETE fs/delete.
type DeleteResult struct {
	Deleted []string `json:"deleted"`
	Count   int      `json:"count"`
}

// Service is a service definition (PUT services/{name}).
type Service struct {
	Cmd      string            `json:"cmd"`
	Args     []string          `json:"args,omitempty"`
	Needs    []string          `json:"needs,omitempty"`
	HTTPPort *int              `json:"http_port,omitempty"`
	Env      map[string]string `json:"env,omitempty"`
	Dir      string            `json:"dir,omitempty"`
}

// ServiceWithState is a service with its runtime state.
type ServiceWithState struct {
	Name string `json:"name"`
	Service
	State *ServiceState `json:"state,omitempty"`
}

// ServiceState is a service's runtime state.
type ServiceState struct {
	Name         string     `json:"name,omitempty"`
	Status       string     `json:"status"` // stopped, starting, running, stopping, failed
	PID          int        `json:"pid,omitempty"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	Error        string     `json:"error,omitempty"`
	RestartCount int        `json:"restart_count,omitempty"`
}

// NetworkPolicy is a sprite's DNS-based egress policy.
type NetworkPolicy struct {
	Rules []PolicyRule `json:"rules"`
}

// PolicyRule is one egress rule.
type PolicyRule struct {
	Domain  string `json:"domain,omitempty"`
	Action  string `json:"action,omitempty"` // allow or deny
	Include string `json:"include,omitempty"`
}
