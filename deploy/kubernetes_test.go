package deploy

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/sprite-sessions/sprite-sessions/worker"
)

// runtimeEnv are variables read by the Go runtime, not by worker.LoadConfig.
var runtimeEnv = map[string]bool{"GOMEMLIMIT": true}

// configVars returns the variable names worker.Config reads: its env tags,
// nested structs included.
func configVars(t *testing.T) map[string]bool {
	t.Helper()
	vars := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if tag, ok := f.Tag.Lookup("env"); ok {
				vars[strings.TrimSpace(strings.Split(tag, ",")[0])] = true
				continue
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[worker.Config]())
	for _, v := range []string{"SPRITES_TOKEN", "TEMPORAL_ADDRESS", "SPRITE_SESSIONS_WORKER_STOP_TIMEOUT"} {
		if !vars[v] {
			t.Fatalf("worker.Config has no %s: the reflection walk is broken", v)
		}
	}
	return vars
}

// workerContainer returns the Deployment's container named worker.
func workerContainer(t *testing.T, deploy map[string]any) map[string]any {
	t.Helper()
	for i := range getList(t, deploy, "spec", "template", "spec", "containers") {
		c := getMap(t, deploy, "spec", "template", "spec", "containers", i)
		if c["name"] == "worker" {
			return c
		}
	}
	t.Fatal("deployment has no container named worker")
	return nil
}

// placeholder matches the only values an example Secret may hold.
var placeholder = regexp.MustCompile(`^(REPLACE_WITH_[A-Z0-9_]+|<[a-z0-9 -]+>)$`)

func stringMap(t *testing.T, v any, path ...any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range getMap(t, v, path...) {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("%v.%s: %T, want a string (quote it)", path, k, v)
		}
		out[k] = s
	}
	return out
}

func TestKubernetes_EnvIsWhatTheWorkerReads(t *testing.T) {
	vars := configVars(t)
	objs := kubeObjects(t)
	cm := stringMap(t, objs["ConfigMap"], "data")
	secret := stringMap(t, objs["Secret"], "stringData")
	c := workerContainer(t, objs["Deployment"])

	for k := range cm {
		if !vars[k] {
			t.Errorf("ConfigMap sets %s, which worker.LoadConfig does not read", k)
		}
	}
	for k := range secret {
		if !vars[k] {
			t.Errorf("Secret holds %s, which worker.LoadConfig does not read", k)
		}
	}
	for i := range getList(t, c, "env") {
		name := getString(t, c, "env", i, "name")
		if !vars[name] && !runtimeEnv[name] {
			t.Errorf("Deployment sets %s, which worker.LoadConfig does not read", name)
		}
		ref, ok := getMap(t, c, "env", i, "valueFrom")["secretKeyRef"].(map[string]any)
		if !ok {
			continue
		}
		if ref["name"] != get(t, objs["Secret"], "metadata", "name") {
			t.Errorf("%s: secretKeyRef names Secret %v, the example is %v", name, ref["name"], get(t, objs["Secret"], "metadata", "name"))
		}
		if _, ok := secret[fmt.Sprint(ref["key"])]; !ok {
			t.Errorf("%s: key %v is not in the example Secret", name, ref["key"])
		}
	}
	for i := range getList(t, c, "envFrom") {
		if name := get(t, c, "envFrom", i, "configMapRef", "name"); name != get(t, objs["ConfigMap"], "metadata", "name") {
			t.Errorf("envFrom names ConfigMap %v", name)
		}
	}
	for _, k := range []string{"SPRITES_TOKEN", "TEMPORAL_API_KEY"} {
		if _, ok := cm[k]; ok {
			t.Errorf("%s is in the ConfigMap: secrets belong in the Secret", k)
		}
	}
}

// TestKubernetes_ConfigLoadsAndShutsDownInTime feeds the ConfigMap and the
// example Secret to worker.LoadConfig, as the pod would, and checks the pod
// spec against the result: the metrics port, and a grace period longer than
// the worker's stop timeout.
func TestKubernetes_ConfigLoadsAndShutsDownInTime(t *testing.T) {
	objs := kubeObjects(t)
	env := stringMap(t, objs["ConfigMap"], "data")
	secret := stringMap(t, objs["Secret"], "stringData")
	env["SPRITES_TOKEN"] = secret["SPRITES_TOKEN"]
	cfg, err := worker.LoadConfig(context.Background(), envconfig.MapLookuper(env))
	if err != nil {
		t.Fatalf("the ConfigMap does not load: %v", err)
	}
	deploy := objs["Deployment"]
	grace, ok := get(t, deploy, "spec", "template", "spec", "terminationGracePeriodSeconds").(int)
	if !ok {
		t.Fatal("terminationGracePeriodSeconds is not an integer")
	}
	if g := time.Duration(grace) * time.Second; g < cfg.WorkerStopTimeout+10*time.Second {
		t.Errorf("terminationGracePeriodSeconds %v leaves under 10s beyond SPRITE_SESSIONS_WORKER_STOP_TIMEOUT %v", g, cfg.WorkerStopTimeout)
	}

	host, port, err := net.SplitHostPort(cfg.MetricsAddress)
	if err != nil {
		t.Fatalf("SPRITE_SESSIONS_METRICS_ADDRESS %q: %v", cfg.MetricsAddress, err)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() || host == "localhost" {
		t.Errorf("SPRITE_SESSIONS_METRICS_ADDRESS %q listens on loopback: probes and Prometheus cannot reach it", cfg.MetricsAddress)
	}
	c := workerContainer(t, deploy)
	p := getMap(t, c, "ports", 0)
	if p["name"] != "metrics" || strconv.Itoa(p["containerPort"].(int)) != port {
		t.Errorf("container port %v, want metrics on %s", p, port)
	}
	if tp := get(t, objs["Service"], "spec", "ports", 0, "targetPort"); tp != "metrics" {
		t.Errorf("Service targetPort %v, want metrics", tp)
	}
}

func TestKubernetes_ProbesUseTheWorkersHealthEndpoints(t *testing.T) {
	c := workerContainer(t, kubeObjects(t)["Deployment"])
	for probe, want := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"} {
		if got := getString(t, c, probe, "httpGet", "path"); got != want {
			t.Errorf("%s path %q, want %q", probe, got, want)
		}
		if port := get(t, c, probe, "httpGet", "port"); port != "metrics" {
			t.Errorf("%s port %v, want the metrics port", probe, port)
		}
	}
	// The worker serves these paths: the patterns are in its mux.
	src := packageSource(t, "../worker")
	for _, p := range []string{`"GET /healthz"`, `"GET /readyz"`, `"GET /metrics"`} {
		if !strings.Contains(src, p) {
			t.Errorf("package worker no longer registers %s", p)
		}
	}
}

func TestKubernetes_PodIsLockedDown(t *testing.T) {
	objs := kubeObjects(t)
	pod := getMap(t, objs["Deployment"], "spec", "template", "spec")
	c := workerContainer(t, objs["Deployment"])
	checks := []struct {
		what string
		got  any
		want any
	}{
		{"pod runAsNonRoot", get(t, pod, "securityContext", "runAsNonRoot"), true},
		{"container runAsNonRoot", get(t, c, "securityContext", "runAsNonRoot"), true},
		{"readOnlyRootFilesystem", get(t, c, "securityContext", "readOnlyRootFilesystem"), true},
		{"allowPrivilegeEscalation", get(t, c, "securityContext", "allowPrivilegeEscalation"), false},
		{"capabilities drop", fmt.Sprint(get(t, c, "securityContext", "capabilities", "drop")), "[ALL]"},
		{"seccomp", get(t, pod, "securityContext", "seccompProfile", "type"), "RuntimeDefault"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.what, ch.got, ch.want)
		}
	}
	if uid, _ := get(t, pod, "securityContext", "runAsUser").(int); uid == 0 {
		t.Error("runAsUser is root")
	}
	for _, r := range []string{"requests", "limits"} {
		if _, ok := get(t, c, "resources", r, "memory").(string); !ok {
			t.Errorf("no memory %s", r)
		}
	}
	sel := getMap(t, objs["Deployment"], "spec", "selector", "matchLabels")
	for kind, path := range map[string][]any{
		"Service":             {"spec", "selector"},
		"PodDisruptionBudget": {"spec", "selector", "matchLabels"},
	} {
		if got := getMap(t, objs[kind], path...); !reflect.DeepEqual(got, sel) {
			t.Errorf("%s selector %v, want the Deployment's %v", kind, got, sel)
		}
	}
	if objs["Service"]["spec"].(map[string]any)["publishNotReadyAddresses"] != true {
		t.Error("Service hides unready pods from Prometheus")
	}
}

func TestKubernetes_ExampleSecretHoldsOnlyPlaceholders(t *testing.T) {
	s := kubeObjects(t)["Secret"]
	if _, ok := s["data"]; ok {
		t.Error("the example Secret has data: (base64 hides what it holds); use stringData placeholders")
	}
	for k, v := range stringMap(t, s, "stringData") {
		if !placeholder.MatchString(v) {
			t.Errorf("Secret %s = %q, want a placeholder such as REPLACE_WITH_%s", k, v, k)
		}
	}
	if got := stringMap(t, s, "stringData"); got["SPRITES_TOKEN"] == "" {
		t.Error("the example Secret lacks SPRITES_TOKEN")
	}
}

func TestKustomization_ListsEveryManifestButTheExampleSecret(t *testing.T) {
	k := readOne(t, "kubernetes/kustomization.yaml")
	var listed []string
	for _, r := range getList(t, k, "resources") {
		listed = append(listed, fmt.Sprint(r))
	}
	paths, _ := filepath.Glob("kubernetes/*.yaml")
	for _, p := range paths {
		base := filepath.Base(p)
		switch {
		case base == "kustomization.yaml":
		case base == "secret.example.yaml":
			if slices.Contains(listed, base) {
				t.Error("kustomization applies the example Secret: it would overwrite a real one with placeholders")
			}
		case !slices.Contains(listed, base):
			t.Errorf("%s is not in kustomization.yaml's resources", base)
		}
	}
	for _, r := range listed {
		if _, err := os.Stat(filepath.Join("kubernetes", r)); err != nil {
			t.Errorf("resource %s: %v", r, err)
		}
	}
	image := getString(t, workerContainer(t, kubeObjects(t)["Deployment"]), "image")
	if name := getString(t, k, "images", 0, "name"); !strings.HasPrefix(image, name+":") {
		t.Errorf("kustomization retags %s, the Deployment runs %s", name, image)
	}
}
