package localsprites

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestTCPProxy_RelaysToLoopbackOnly(t *testing.T) {
	ts := start(t, Config{})
	ts.create("tun")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ts.dial(ctx, "/v1/sprites/tun/proxy", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	req, _ := json.Marshal(tcpProxyRequest{Host: "localhost", Port: port})
	if err := c.Write(ctx, websocket.MessageText, req); err != nil {
		t.Fatal(err)
	}
	_, msg, err := c.Read(ctx)
	var reply map[string]string
	if err != nil || json.Unmarshal(msg, &reply) != nil || reply["status"] != "connected" {
		t.Fatalf("handshake: %s %v", msg, err)
	}
	if err := c.Write(ctx, websocket.MessageBinary, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if typ, msg, err := c.Read(ctx); err != nil || typ != websocket.MessageBinary || string(msg) != "ping" {
		t.Fatalf("echo: %v %q %v", typ, msg, err)
	}
	// Clients send whatever their copy buffer holds; a message over the
	// WebSocket library's 32 KiB default must not end the tunnel.
	big := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
	if err := c.Write(ctx, websocket.MessageBinary, big); err != nil {
		t.Fatal(err)
	}
	var echoed []byte
	for len(echoed) < len(big) {
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("echo of a 256 KiB message: %v after %d bytes", err, len(echoed))
		}
		echoed = append(echoed, msg...)
	}
	if !bytes.Equal(echoed, big) {
		t.Fatal("the 256 KiB message came back changed")
	}

	c2, err := ts.dial(ctx, "/v1/sprites/tun/proxy", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	req, _ = json.Marshal(tcpProxyRequest{Host: "example.com", Port: 80})
	_ = c2.Write(ctx, websocket.MessageText, req)
	if _, _, err := c2.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("remote host: %v", err)
	}
}
