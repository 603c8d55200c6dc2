package activities

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// testToken is the API token of every test client; no error may show it.
const testToken = "tok-never-in-errors-5f3a"

// fakeAPI is a Sprites API on loopback that speaks the service's shapes:
// enough state for the activities' paths, canned answers queued per route
// for the error paths, and scripted exec sockets.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	sprites     map[string]*sprites.Sprite
	services    map[string][]sprites.ServiceWithState
	files       map[string][]byte // sprite + ":" + path
	fileModes   map[string]string
	checkpoints map[string][]sprites.Checkpoint
	calls       []string                 // "METHOD /path"
	queued      map[string][]cannedReply // by "METHOD /path"
	bodies      map[string][]byte        // last request body by "METHOD /path"

	// checkpointStream and restoreStream, when set, are the NDJSON lines
	// answered (HTTP 200) instead of a successful stream.
	checkpointStream []string
	restoreStream    []string

	exec fakeExec
}

// cannedReply is one queued answer.
type cannedReply struct {
	status int
	body   string
	header map[string]string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{
		t:           t,
		sprites:     map[string]*sprites.Sprite{},
		services:    map[string][]sprites.ServiceWithState{},
		files:       map[string][]byte{},
		fileModes:   map[string]string{},
		checkpoints: map[string][]sprites.Checkpoint{},
		queued:      map[string][]cannedReply{},
		bodies:      map[string][]byte{},
	}
	f.exec.t = t
	f.exec.init()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/sprites", f.create)
	mux.HandleFunc("GET /v1/sprites", f.list)
	mux.HandleFunc("GET /v1/sprites/{name}", f.get)
	mux.HandleFunc("DELETE /v1/sprites/{name}", f.delete)
	mux.HandleFunc("POST /v1/sprites/{name}/checkpoint", f.checkpoint)
	mux.HandleFunc("GET /v1/sprites/{name}/checkpoints", f.listCheckpoints)
	mux.HandleFunc("POST /v1/sprites/{name}/checkpoints/{id}/restore", f.restore)
	mux.HandleFunc("GET /v1/sprites/{name}/fs/read", f.readFile)
	mux.HandleFunc("PUT /v1/sprites/{name}/fs/write", f.writeFile)
	mux.HandleFunc("GET /v1/sprites/{name}/services", f.listServices)
	mux.HandleFunc("GET /v1/sprites/{name}/exec", f.exec.start)
	mux.HandleFunc("GET /v1/sprites/{name}/exec/{id}", f.exec.attach)
	mux.HandleFunc("POST /v1/sprites/{name}/exec/{id}/kill", f.exec.kill)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		f.mu.Lock()
		f.calls = append(f.calls, key)
		f.bodies[key] = body
		var reply *cannedReply
		if q := f.queued[key]; len(q) > 0 {
			reply, f.queued[key] = &q[0], q[1:]
		}
		f.mu.Unlock()
		if reply != nil {
			for k, v := range reply.header {
				w.Header().Set(k, v)
			}
			if w.Header().Get("Content-Type") == "" {
				w.Header().Set("Content-Type", "application/json")
			}
			w.WriteHeader(reply.status)
			_, _ = io.WriteString(w, reply.body)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// client returns a sprites client of the fake.
func (f *fakeAPI) client() *sprites.Client {
	return sprites.New(testToken, sprites.WithBaseURL(f.srv.URL))
}

// queue makes the next request to "METHOD /path" answer status and body.
func (f *fakeAPI) queue(route string, status int, body string) {
	f.queueReply(route, cannedReply{status: status, body: body})
}

func (f *fakeAPI) queueReply(route string, r cannedReply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queued[route] = append(f.queued[route], r)
}

func (f *fakeAPI) addSprite(sp sprites.Sprite) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sp.Status == "" {
		sp.Status = sprites.StatusCold
	}
	f.sprites[sp.Name] = &sp
}

func (f *fakeAPI) hasSprite(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.sprites[name]
	return ok
}

// count returns how many requests went to "METHOD /path".
func (f *fakeAPI) count(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == route {
			n++
		}
	}
	return n
}

func (f *fakeAPI) body(route string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[route]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) create(w http.ResponseWriter, r *http.Request) {
	var req sprites.CreateRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, sprites.ErrorBody{Error: err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sprites[req.Name]; ok {
		writeJSON(w, http.StatusConflict, sprites.ErrorBody{Error: "sprite with this name already exists"})
		return
	}
	sp := &sprites.Sprite{
		Name: req.Name, Status: sprites.StatusCold, Labels: req.Labels, URLSettings: req.URLSettings,
		URL: "https://" + req.Name + ".sprites.test", CreatedAt: time.Now().UTC().Truncate(time.Second),
	}
	f.sprites[req.Name] = sp
	writeJSON(w, http.StatusCreated, sp)
}

func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request) {
	prefix := r.URL.Query().Get("prefix")
	f.mu.Lock()
	defer f.mu.Unlock()
	page := sprites.ListPage{Sprites: []sprites.Sprite{}}
	for name, sp := range f.sprites {
		if strings.HasPrefix(name, prefix) {
			page.Sprites = append(page.Sprites, *sp)
		}
	}
	writeJSON(w, http.StatusOK, page)
}

func (f *fakeAPI) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sp, ok := f.sprites[r.PathValue("name")]
	if !ok {
		writeJSON(w, http.StatusNotFound, sprites.ErrorBody{Error: "sprite not found"})
		return
	}
	writeJSON(w, http.StatusOK, sp)
}

func (f *fakeAPI) delete(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := r.PathValue("name")
	if _, ok := f.sprites[name]; !ok {
		writeJSON(w, http.StatusNotFound, sprites.ErrorBody{Error: "sprite not found"})
		return
	}
	delete(f.sprites, name)
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeAPI) checkpoint(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	f.mu.Lock()
	_, ok := f.sprites[name]
	lines := f.checkpointStream
	var id string
	if ok && lines == nil {
		id = "v" + strconv.Itoa(len(f.checkpoints[name])+1)
		var req sprites.CheckpointRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.checkpoints[name] = append([]sprites.Checkpoint{{
			ID: id, Comment: req.Comment, CreateTime: time.Now().UTC().Truncate(time.Second),
		}}, f.checkpoints[name]...)
	}
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, sprites.ErrorBody{Error: "sprite not found"})
		return
	}
	if lines == nil {
		lines = []string{
			`{"type":"info","data":"Creating checkpoint..."}`,
			`{"type":"info","data":"  ID: ` + id + `"}`,
			`{"type":"complete","data":"Checkpoint ` + id + ` created successfully"}`,
		}
	}
	writeStream(w, lines)
}

func (f *fakeAPI) listCheckpoints(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := append([]sprites.Checkpoint{{ID: sprites.CurrentCheckpointID}}, f.checkpoints[r.PathValue("name")]...)
	writeJSON(w, http.StatusOK, list)
}

func (f *fakeAPI) restore(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	_, ok := f.sprites[r.PathValue("name")]
	lines := f.restoreStream
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, sprites.ErrorBody{Error: "sprite not found"})
		return
	}
	if lines == nil {
		id := r.PathValue("id")
		lines = []string{
			`{"type":"info","data":"Restoring from checkpoint ` + id + `..."}`,
			`{"type":"complete","data":"Restore from ` + id + ` complete"}`,
		}
	}
	writeStream(w, lines)
}

func writeStream(w http.ResponseWriter, lines []string) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	for _, l := range lines {
		_, _ = io.WriteString(w, l+"\n")
	}
}

func (f *fakeAPI) readFile(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("name") + ":" + r.URL.Query().Get("path")
	f.mu.Lock()
	data, ok := f.files[key]
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, sprites.ErrorBody{Error: "no such file", Code: "ENOENT", Path: r.URL.Query().Get("path")})
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(data)
}

func (f *fakeAPI) writeFile(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("mkdirParents") != "true" {
		writeJSON(w, http.StatusBadRequest, sprites.ErrorBody{Error: "parent missing", Code: "ENOENT"})
		return
	}
	data, _ := io.ReadAll(r.Body)
	key := r.PathValue("name") + ":" + q.Get("path")
	f.mu.Lock()
	f.files[key] = data
	f.fileModes[key] = q.Get("mode")
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, sprites.WriteResult{Path: q.Get("path"), Size: int64(len(data)), Mode: q.Get("mode")})
}

func (f *fakeAPI) listServices(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := f.services[r.PathValue("name")]
	if list == nil {
		list = []sprites.ServiceWithState{}
	}
	writeJSON(w, http.StatusOK, list)
}

// fakeExec serves exec sockets from scripts: start runs for a new command,
// attach for /exec/{id}. The scripts write frames with the session helpers.
type fakeExec struct {
	t        *testing.T
	mu       sync.Mutex
	starts   []url.Values
	attaches []int64
	kills    []killCall
	killed   chan int64 // receives every killed session ID

	onStart  func(s *execSocket)
	onAttach func(s *execSocket)
	// attachStatus, when non-zero, refuses attaches with that status.
	attachStatus int
}

type killCall struct {
	id     int64
	signal string
}

func (e *fakeExec) init() { e.killed = make(chan int64, 16) }

// execSocket is one exec connection in a script.
type execSocket struct {
	t     *testing.T
	ctx   context.Context
	conn  *websocket.Conn
	query url.Values
	id    int64 // the attached session, 0 on a start
	stdin chan string
}

func (s *execSocket) info(id int64) {
	s.text(sprites.ControlMessage{Type: "session_info", SessionID: id, Command: "test", Created: time.Now().Unix()})
}

func (s *execSocket) text(m sprites.ControlMessage) {
	b, _ := json.Marshal(m)
	if err := s.conn.Write(s.ctx, websocket.MessageText, b); err != nil {
		s.t.Logf("fake exec: write: %v", err)
	}
}

func (s *execSocket) out(stream byte, data string) {
	if err := s.conn.Write(s.ctx, websocket.MessageBinary, sprites.EncodeFrame(stream, []byte(data))); err != nil {
		s.t.Logf("fake exec: write: %v", err)
	}
}

func (s *execSocket) exit(code int) {
	if err := s.conn.Write(s.ctx, websocket.MessageBinary, sprites.ExitFrame(code)); err != nil {
		s.t.Logf("fake exec: write: %v", err)
	}
}

// drop ends the socket without an exit frame.
func (s *execSocket) drop() { s.conn.CloseNow() }

// readStdin collects stdin frames until stdin EOF and reports them, then
// keeps reading so that pings and closes are handled.
func (s *execSocket) readStdin() {
	var b strings.Builder
	reported := false
	report := func() {
		if !reported {
			reported = true
			s.stdin <- b.String()
		}
	}
	defer report()
	for {
		_, msg, err := s.conn.Read(s.ctx)
		if err != nil {
			return
		}
		stream, payload, err := sprites.DecodeFrame(msg)
		if err != nil {
			continue
		}
		switch stream {
		case sprites.StreamStdin:
			b.Write(payload)
		case sprites.StreamStdinEOF:
			report()
		}
	}
}

func (e *fakeExec) serve(w http.ResponseWriter, r *http.Request, id int64, script func(*execSocket)) {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	s := &execSocket{t: e.t, ctx: r.Context(), conn: conn, query: r.URL.Query(), id: id, stdin: make(chan string, 1)}
	go s.readStdin()
	if script != nil {
		script(s)
	}
}

func (e *fakeExec) start(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.starts = append(e.starts, r.URL.Query())
	script := e.onStart
	e.mu.Unlock()
	e.serve(w, r, 0, script)
}

func (e *fakeExec) attach(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	e.mu.Lock()
	e.attaches = append(e.attaches, id)
	script, status := e.onAttach, e.attachStatus
	e.mu.Unlock()
	if status != 0 {
		writeJSON(w, status, sprites.ErrorBody{Error: "session " + r.PathValue("id") + " not found"})
		return
	}
	e.serve(w, r, id, script)
}

func (e *fakeExec) kill(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	e.mu.Lock()
	e.kills = append(e.kills, killCall{id: id, signal: r.URL.Query().Get("signal")})
	e.mu.Unlock()
	e.killed <- id
	writeStream(w, []string{
		`{"type":"signal","message":"Signaling SIGKILL","signal":"SIGKILL","pid":` + strconv.FormatInt(id, 10) + `}`,
		`{"type":"complete","exit_code":137}`,
	})
}

func (e *fakeExec) startQueries() []url.Values {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.starts)
}

func (e *fakeExec) attachIDs() []int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.attaches)
}

func (e *fakeExec) killCalls() []killCall {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.kills)
}

// file returns a stored file and the mode it was written with.
func (f *fakeAPI) file(sprite, path string) (data []byte, mode string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, ok = f.files[sprite+":"+path]
	return data, f.fileModes[sprite+":"+path], ok
}

func (f *fakeAPI) putFile(sprite, path string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[sprite+":"+path] = data
}

func (e *fakeExec) counts() (starts, attaches, kills int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.starts), len(e.attaches), len(e.kills)
}

// newActivityEnv returns an activity test environment with acts registered.
func newActivityEnv(t *testing.T, acts *Activities) *testsuite.TestActivityEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	env.SetTestTimeout(30 * time.Second)
	return env
}

// appError returns the application error err carries, failing the test
// when there is none, its type differs, or its retryability does.
func appError(t *testing.T, err error, wantType string, wantRetryable bool) *temporal.ApplicationError {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", wantType)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("error %v (%T) carries no application error, want %s", err, err, wantType)
	}
	if appErr.Type() != wantType {
		t.Fatalf("error type %q, want %q (error: %v)", appErr.Type(), wantType, err)
	}
	if appErr.NonRetryable() == wantRetryable {
		t.Fatalf("error %v: non-retryable=%v, want retryable=%v", err, appErr.NonRetryable(), wantRetryable)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Fatalf("error shows the API token: %v", err)
	}
	return appErr
}
