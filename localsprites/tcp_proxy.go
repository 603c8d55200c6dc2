package localsprites

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// tcpProxyRequest is the first message on the TCP proxy socket.
type tcpProxyRequest struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// tcpProxy relays a WebSocket to a TCP port of the sprite: the client names
// {host, port}, the server answers {"status":"connected"} and then binary
// messages are the raw TCP bytes. A local sprite shares the host network,
// so only loopback targets are allowed: this must not become an open relay.
func (s *Server) tcpProxy(w http.ResponseWriter, r *http.Request) {
	sp := s.lookup(w, r, opTCPProxy)
	if sp == nil {
		return
	}
	if !isWebSocket(r) {
		writeError(w, http.StatusBadRequest, "the proxy endpoint needs a WebSocket upgrade")
		return
	}
	if sp.isDeleted() {
		writeError(w, http.StatusNotFound, "sprite not found")
		return
	}
	sp.begin() // an open tunnel keeps the sprite running
	defer sp.end()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	hsCtx, hsCancel := context.WithTimeout(ctx, 30*time.Second)
	_, msg, err := c.Read(hsCtx)
	hsCancel()
	if err != nil {
		return
	}
	var req tcpProxyRequest
	if err := json.Unmarshal(msg, &req); err != nil || req.Port < 1 || req.Port > 65535 {
		_ = c.Close(websocket.StatusPolicyViolation, "expected {\"host\":...,\"port\":1-65535}")
		return
	}
	switch req.Host {
	case "", "localhost", "127.0.0.1", "::1":
	default:
		_ = c.Close(websocket.StatusPolicyViolation, "localsprites only proxies to the sprite's own ports (localhost)")
		return
	}
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(req.Port))
	d := net.Dialer{Timeout: 5 * time.Second}
	tcp, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		_ = c.Close(websocket.StatusInternalError, fmt.Sprintf("dial %s failed", target))
		return
	}
	defer tcp.Close()
	reply, _ := json.Marshal(map[string]string{"status": "connected", "target": target})
	if err := c.Write(ctx, websocket.MessageText, reply); err != nil {
		return
	}
	ws := websocket.NetConn(ctx, c, websocket.MessageBinary)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(tcp, ws); done <- struct{}{} }()
	go func() { _, _ = io.Copy(ws, tcp); done <- struct{}{} }()
	<-done
	_ = ws.Close()
}
