package localsprites

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SpriteVersion is the server build the API reports in the Sprite-Version
// header. Clients pick protocol forms by it (the path form of exec attach
// needs at least v0.0.1-rc30).
const SpriteVersion = "v0.0.1-rc99"

// Server is a local Sprites API server. It is an http.Handler; Start also
// runs it on a loopback port.
type Server struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	faults *faults
	bwrap  string // path of bwrap, "" in plain mode

	proxyTransport *http.Transport // forwards requests to sprite URLs

	mu      sync.Mutex // guards sprites and closed
	sprites map[string]*sprite
	closed  bool

	bg      sync.WaitGroup // background work Close waits for
	closing atomic.Bool    // set by Close; idle timers stop arming

	// set by Start
	listener net.Listener
	httpSrv  *http.Server
}

// New loads the state directory and returns a server. It starts no
// listener; use it as an http.Handler or call Start.
func New(cfg Config) (*Server, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     c,
		log:     c.Logger,
		sprites: map[string]*sprite{},
		faults:  newFaults(c.FaultSeed, c.Faults),

		proxyTransport: newProxyTransport(),
	}
	if s.bwrap, err = findSandbox(c.Sandbox, s.log); err != nil {
		return nil, err
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Start creates a server and serves it on addr ("" means a free port on
// 127.0.0.1). Close stops it.
func Start(cfg Config, addr string) (*Server, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		s.shutdownSprites()
		return nil, fmt.Errorf("localsprites: listening on %s: %w", addr, err)
	}
	s.listener = l
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.bg.Go(func() {
		if err := s.httpSrv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serving", "err", err)
		}
	})
	s.log.Info("localsprites listening", "url", s.URL(), "sandbox", s.SandboxName())
	return s, nil
}

// URL is the base URL of a server started with Start ("" otherwise).
func (s *Server) URL() string {
	if s.listener == nil {
		return ""
	}
	return "http://" + s.listener.Addr().String()
}

// SandboxName says how processes run: "bwrap" or "plain".
func (s *Server) SandboxName() string {
	if s.bwrap != "" {
		return string(SandboxBwrap)
	}
	return string(SandboxPlain)
}

// SetFaults replaces the injected faults (and resets their counters) while
// the server runs.
func (s *Server) SetFaults(faults []Fault) error {
	fs := append([]Fault(nil), faults...)
	for i := range fs {
		if err := fs[i].validate(); err != nil {
			return err
		}
	}
	s.faults.set(fs)
	return nil
}

// Close stops the listener (when started with Start), kills every sprite's
// processes and waits for background work. State on disk stays.
func (s *Server) Close() error {
	var err error
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = s.httpSrv.Shutdown(ctx)
		cancel()
		if err != nil {
			err = s.httpSrv.Close()
		}
	}
	s.shutdownSprites()
	s.proxyTransport.CloseIdleConnections()
	s.bg.Wait()
	return err
}

func (s *Server) shutdownSprites() {
	s.closing.Store(true)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	all := make([]*sprite, 0, len(s.sprites))
	for _, sp := range s.sprites {
		all = append(all, sp)
	}
	s.mu.Unlock()
	for _, sp := range all {
		sp.mu.Lock()
		if sp.coldTimer != nil {
			sp.coldTimer.Stop()
			sp.coldTimer = nil
		}
		sp.mu.Unlock()
		sp.stopEverything(true)
	}
}

// ServeHTTP answers every request with the Sprite-Version header, checks
// the bearer token and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Sprite-Version", SpriteVersion)
	if name, ok := s.proxyHost(r.Host); ok {
		s.serveProxy(w, r, name, r.URL.Path)
		return
	}
	if strings.HasPrefix(r.URL.Path, proxyPrefix) {
		// The proxy does its own auth: a public URL needs none.
		s.mux.ServeHTTP(w, r)
		return
	}
	if !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, "authentication failed")
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.Token)) == 1
}

// handle registers a route under an operation name, with fault injection.
func (s *Server) handle(pattern, op string, h func(http.ResponseWriter, *http.Request)) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		r, ok := s.inject(op, w, r)
		if !ok {
			return
		}
		h(w, r)
	})
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	const sp = "/v1/sprites/{name}"
	s.handle("POST /v1/sprites", opSpriteCreate, s.createSprite)
	s.handle("GET /v1/sprites", opSpriteList, s.listSprites)
	s.handle("GET "+sp, opSpriteGet, s.getSprite)
	s.handle("PUT "+sp, opSpriteUpdate, s.updateSprite)
	s.handle("DELETE "+sp, opSpriteDelete, s.deleteSprite)

	s.mux.HandleFunc("HEAD "+sp+"/exec", s.headExec)
	s.mux.HandleFunc("GET "+sp+"/exec", s.execOrList) // injects per use
	s.handle("POST "+sp+"/exec", opExecHTTP, s.execHTTP)
	s.handle("GET "+sp+"/exec/{id}", opExecAttach, s.attachExec)
	s.handle("POST "+sp+"/exec/{id}/kill", opExecKill, s.killSession)

	s.handle("GET "+sp+"/fs/read", opFSRead, s.fsRead)
	s.handle("PUT "+sp+"/fs/write", opFSWrite, s.fsWrite)
	s.handle("GET "+sp+"/fs/list", opFSList, s.fsList)
	s.handle("DELETE "+sp+"/fs/delete", opFSDelete, s.fsDelete)

	s.handle("POST "+sp+"/checkpoint", opCheckpointCreate, s.createCheckpoint)
	s.handle("GET "+sp+"/checkpoints", opCheckpointList, s.listCheckpoints)
	s.handle("GET "+sp+"/checkpoints/{id}", opCheckpointGet, s.getCheckpoint)
	s.handle("DELETE "+sp+"/checkpoints/{id}", opCheckpointDelete, s.deleteCheckpoint)
	s.handle("POST "+sp+"/checkpoints/{id}/restore", opCheckpointRestore, s.restoreCheckpoint)

	s.handle("GET "+sp+"/services", opServiceList, s.listServices)
	s.handle("POST "+sp+"/services/signal", opServiceSignal, s.signalService)
	s.handle("GET "+sp+"/services/{svc}", opServiceGet, s.getService)
	s.handle("PUT "+sp+"/services/{svc}", opServicePut, s.putService)
	s.handle("DELETE "+sp+"/services/{svc}", opServiceDelete, s.deleteService)
	s.handle("POST "+sp+"/services/{svc}/start", opServiceStart, s.startService)
	s.handle("POST "+sp+"/services/{svc}/stop", opServiceStop, s.stopService)

	s.handle("GET "+sp+"/policy/network", opPolicyGet, s.getPolicy)
	s.handle("POST "+sp+"/policy/network", opPolicySet, s.setPolicy)

	s.handle("GET "+sp+"/proxy", opTCPProxy, s.tcpProxy)
	s.mux.HandleFunc(proxyPrefix+"{name}/{rest...}", s.proxyPath) // injects after its own auth

	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	})
}

// lookup returns the named sprite or answers the missing-sprite error.
// op decides the quirk form: the real service answers 500 for a missing
// sprite on get and delete.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, op string) *sprite {
	name := r.PathValue("name")
	s.mu.Lock()
	sp := s.sprites[name]
	s.mu.Unlock()
	if sp != nil {
		return sp
	}
	switch {
	case s.cfg.Quirks.MissingSprite500 && op == opSpriteGet:
		writeError(w, http.StatusInternalServerError, "failed to retrieve sprite")
	case s.cfg.Quirks.MissingSprite500 && op == opSpriteDelete:
		writeError(w, http.StatusInternalServerError, "failed to delete sprite")
	default:
		writeError(w, http.StatusNotFound, "sprite not found")
	}
	return nil
}

// publicBase is the base URL sprite URLs are built on.
func (s *Server) publicBase(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	return "http://" + r.Host
}
