package worker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
)

// ClientOptions turns the connection settings into client options, with
// the same TLS rules as Temporal's own environment loader: TLS is on when
// TEMPORAL_TLS is true, when any TLS setting is present, or when an API key
// is set; TEMPORAL_TLS=false turns it off whatever else is set.
func (t TemporalConfig) ClientOptions() (client.Options, error) {
	opts := client.Options{HostPort: t.Address, Namespace: t.Namespace}
	// Trimmed here too: the CLI reads these variables without LoadConfig.
	key := strings.TrimSpace(t.APIKey.Value())
	if key != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(key)
	}
	if t.TLS != nil && !*t.TLS {
		opts.ConnectionOptions.TLSDisabled = true
		return opts, nil
	}
	if t.TLS == nil && !t.anyTLSSetting() && key == "" {
		return opts, nil
	}
	conf, err := t.tlsConfig()
	if err != nil {
		return client.Options{}, err
	}
	opts.ConnectionOptions.TLS = conf
	return opts, nil
}

func (t TemporalConfig) anyTLSSetting() bool {
	return t.TLSClientCertPath != "" || t.TLSClientCertData != "" || t.TLSClientKeyPath != "" ||
		t.TLSClientKeyData != "" || t.TLSServerCACertPath != "" || t.TLSServerCACertData != "" ||
		t.TLSServerName != "" || t.TLSDisableHostVerification
}

func (t TemporalConfig) tlsConfig() (*tls.Config, error) {
	conf := &tls.Config{ServerName: t.TLSServerName, InsecureSkipVerify: t.TLSDisableHostVerification}

	certData, keyData := []byte(t.TLSClientCertData.Value()), []byte(t.TLSClientKeyData.Value())
	switch {
	case (len(certData) > 0 || len(keyData) > 0) && (t.TLSClientCertPath != "" || t.TLSClientKeyPath != ""):
		return nil, errors.New("TEMPORAL_TLS_CLIENT_CERT/KEY: give either the _PATH or the _DATA variables, not both")
	case len(certData) > 0 || len(keyData) > 0:
		if len(certData) == 0 || len(keyData) == 0 {
			return nil, errors.New("TEMPORAL_TLS_CLIENT_CERT_DATA and TEMPORAL_TLS_CLIENT_KEY_DATA must be set together")
		}
		cert, err := tls.X509KeyPair(certData, keyData)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CLIENT_CERT_DATA/KEY_DATA: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	case t.TLSClientCertPath != "" || t.TLSClientKeyPath != "":
		if t.TLSClientCertPath == "" || t.TLSClientKeyPath == "" {
			return nil, errors.New("TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together")
		}
		cert, err := tls.LoadX509KeyPair(t.TLSClientCertPath, t.TLSClientKeyPath)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CLIENT_CERT_PATH/KEY_PATH: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}

	ca := []byte(t.TLSServerCACertData)
	switch {
	case len(ca) > 0 && t.TLSServerCACertPath != "":
		return nil, errors.New("TEMPORAL_TLS_SERVER_CA_CERT: give either _PATH or _DATA, not both")
	case t.TLSServerCACertPath != "":
		var err error
		if ca, err = os.ReadFile(t.TLSServerCACertPath); err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_SERVER_CA_CERT_PATH: %w", err)
		}
	}
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, errors.New("TEMPORAL_TLS_SERVER_CA_CERT: no PEM certificate found")
		}
		conf.RootCAs = pool
	}
	return conf, nil
}
