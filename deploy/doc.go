// Package deploy holds the deployment artefacts of sprite-sessions: the
// Dockerfile, the Kubernetes manifests, the compose stack, the Prometheus
// alert rules and the Grafana dashboard. It has no Go API; its tests check
// the artefacts against the code (metric names, configuration variables,
// health endpoints), since no container engine runs in CI.
package deploy
