package localsprites

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// A sprite's URL is <base>/proxy/<name>/ on this server (it works on
// loopback without DNS tricks), and http://<name>.localhost:<port>/ works
// too for clients that resolve *.localhost to loopback (browsers do).
// Requests go to the port of the service with http_port, or else to the
// sprite's own port (its PORT variable): local sprites share the host
// network, so they cannot all listen on 8080.
const proxyPrefix = "/proxy/"

// proxyWait is how long a proxied request waits for the sprite to listen,
// e.g. while a service starts after a wake.
const proxyWait = 5 * time.Second

func (s *Server) proxyPath(w http.ResponseWriter, r *http.Request) {
	s.serveProxy(w, r, r.PathValue("name"), "/"+r.PathValue("rest"))
}

// proxyHost recognises <name>.localhost[:port] naming an existing sprite.
func (s *Server) proxyHost(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	name, ok := strings.CutSuffix(host, ".localhost")
	if !ok {
		return "", false
	}
	s.mu.Lock()
	_, exists := s.sprites[name]
	s.mu.Unlock()
	return name, exists
}

func (s *Server) serveProxy(w http.ResponseWriter, r *http.Request, name, path string) {
	s.mu.Lock()
	sp := s.sprites[name]
	s.mu.Unlock()
	if sp == nil {
		writeError(w, http.StatusNotFound, "sprite not found")
		return
	}
	r, ok := s.inject(opProxy, w, r)
	if !ok {
		return
	}
	sp.mu.Lock()
	public := sp.meta.URLSettings.Auth == sprites.AuthPublic
	port := sp.meta.Port
	httpSvc := ""
	for n, m := range sp.meta.Services {
		if m.Def.HTTPPort != nil {
			port, httpSvc = *m.Def.HTTPPort, n
		}
	}
	sp.mu.Unlock()
	if !public && !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, "authentication failed")
		return
	}
	if !sp.acquire(w) {
		return
	}
	if httpSvc != "" {
		s.ensureServiceRunning(sp, httpSvc)
	}
	// The environment lock only guards the service start against a restore
	// or delete. The request itself counts as activity but holds no lock:
	// an open one (a long poll, a WebSocket) would hold up the sprite's
	// delete for as long as its visitor stays.
	sp.begin()
	defer sp.end()
	sp.release()

	target := &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(port)}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = path
			pr.Out.URL.RawPath = ""
			pr.SetXForwarded()
			// The API token is for this server, never for the sprite's app.
			pr.Out.Header.Del("Authorization")
		},
		Transport: s.proxyTransport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.log.Debug("proxy", "sprite", name, "port", port, "err", err)
			writeError(w, http.StatusBadGateway, "sprite is not listening on port "+strconv.Itoa(port))
		},
	}
	rp.ServeHTTP(w, r)
}

// newProxyTransport is the one transport of the sprite URLs: a transport
// per request would keep an idle connection to the sprite open for every
// request served.
func newProxyTransport() *http.Transport {
	return &http.Transport{
		DialContext:         dialRetry,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
	}
}

// dialRetry dials, retrying refused connections for a while: the sprite's
// server may be starting.
func dialRetry(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, proxyWait)
	defer cancel()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, network, addr)
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ensureServiceRunning starts the http_port service when a request arrives
// while it is stopped, as the real proxy does.
func (s *Server) ensureServiceRunning(sp *sprite, name string) {
	sp.mu.Lock()
	m := sp.meta.Services[name]
	p := sp.services[name]
	sp.mu.Unlock()
	if m == nil || (p != nil && p.running()) {
		return
	}
	if _, err := sp.startServiceProc(name, m.Def, nil); err != nil {
		s.log.Warn("auto-starting service", "sprite", sp.meta.Name, "service", name, "err", err)
	}
}
