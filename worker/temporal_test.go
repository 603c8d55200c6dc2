package worker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T) (certPath, keyPath string, certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath, certPEM, keyPEM
}

func TestTemporalConfig_ClientOptionsFollowTemporalTLSRules(t *testing.T) {
	certPath, keyPath, certPEM, keyPEM := writeCert(t)
	on, off := true, false
	tests := []struct {
		name         string
		cfg          TemporalConfig
		wantTLS      bool
		wantDisabled bool
		wantCreds    bool
		wantErr      string
	}{
		{name: "plain", cfg: TemporalConfig{}},
		{name: "TEMPORAL_TLS=true", cfg: TemporalConfig{TLS: &on}, wantTLS: true},
		{name: "API key turns TLS on", cfg: TemporalConfig{APIKey: "k"}, wantTLS: true, wantCreds: true},
		{name: "TEMPORAL_TLS=false wins over API key", cfg: TemporalConfig{APIKey: "k", TLS: &off, TLSServerName: "x"}, wantDisabled: true, wantCreds: true},
		{name: "server name turns TLS on", cfg: TemporalConfig{TLSServerName: "temporal.internal"}, wantTLS: true},
		{name: "client cert and key files", cfg: TemporalConfig{TLSClientCertPath: certPath, TLSClientKeyPath: keyPath}, wantTLS: true},
		{name: "client cert and key data", cfg: TemporalConfig{TLSClientCertData: Secret(certPEM), TLSClientKeyData: Secret(keyPEM)}, wantTLS: true},
		{name: "server CA file", cfg: TemporalConfig{TLSServerCACertPath: certPath}, wantTLS: true},
		{name: "server CA data", cfg: TemporalConfig{TLSServerCACertData: string(certPEM)}, wantTLS: true},
		{name: "cert without key", cfg: TemporalConfig{TLSClientCertPath: certPath}, wantErr: "TEMPORAL_TLS_CLIENT_KEY_PATH"},
		{name: "path and data", cfg: TemporalConfig{TLSClientCertPath: certPath, TLSClientKeyPath: keyPath, TLSClientCertData: Secret(certPEM)}, wantErr: "not both"},
		{name: "missing CA file", cfg: TemporalConfig{TLSServerCACertPath: filepath.Join(t.TempDir(), "none.pem")}, wantErr: "TEMPORAL_TLS_SERVER_CA_CERT_PATH"},
		{name: "CA data that is not PEM", cfg: TemporalConfig{TLSServerCACertData: "nope"}, wantErr: "no PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Address, tt.cfg.Namespace = "h:7233", "ns"
			opts, err := tt.cfg.ClientOptions()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), string(keyPEM)) {
					t.Error("error contains the key")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if opts.HostPort != "h:7233" || opts.Namespace != "ns" {
				t.Errorf("host %q namespace %q", opts.HostPort, opts.Namespace)
			}
			if got := opts.ConnectionOptions.TLS != nil; got != tt.wantTLS {
				t.Errorf("TLS configured = %v, want %v", got, tt.wantTLS)
			}
			if opts.ConnectionOptions.TLSDisabled != tt.wantDisabled {
				t.Errorf("TLSDisabled = %v, want %v", opts.ConnectionOptions.TLSDisabled, tt.wantDisabled)
			}
			if got := opts.Credentials != nil; got != tt.wantCreds {
				t.Errorf("credentials set = %v, want %v", got, tt.wantCreds)
			}
			if c := opts.ConnectionOptions.TLS; c != nil {
				if tt.cfg.TLSServerName != "" && c.ServerName != tt.cfg.TLSServerName {
					t.Errorf("ServerName = %q", c.ServerName)
				}
				if (tt.cfg.TLSClientCertPath != "" || tt.cfg.TLSClientCertData != "") && len(c.Certificates) != 1 {
					t.Errorf("client certificate not loaded")
				}
				if (tt.cfg.TLSServerCACertPath != "" || tt.cfg.TLSServerCACertData != "") && c.RootCAs == nil {
					t.Errorf("server CA not loaded")
				}
			}
		})
	}
}
