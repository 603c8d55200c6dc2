package deploy

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/sprite-sessions/sprite-sessions/worker"
)

// stage is one FROM ... section of the Dockerfile.
type stage struct {
	from, name string
	lines      []string // instructions after FROM, continuation lines joined
}

func dockerStages(t *testing.T) []stage {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if strings.EqualFold(f[0], "FROM") {
			s := stage{}
			for i := 1; i < len(f); i++ {
				switch {
				case strings.HasPrefix(f[i], "--"):
				case strings.EqualFold(f[i], "AS") && i+1 < len(f):
					s.name = f[i+1]
					i++
				default:
					s.from = f[i]
				}
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a multi-stage build", len(stages))
	}
	return stages
}

// instruction returns the arguments of every instruction named instr.
func (s stage) instruction(instr string) []string {
	var out []string
	for _, l := range s.lines {
		if f := strings.Fields(l); strings.EqualFold(f[0], instr) {
			out = append(out, strings.TrimSpace(l[len(f[0]):]))
		}
	}
	return out
}

func TestDockerfile_BuildsTheWorkerStaticallyAndRunsItAsNonRoot(t *testing.T) {
	stages := dockerStages(t)
	b, _ := os.ReadFile("Dockerfile")
	src := string(b)

	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(gomod))
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	if !strings.Contains(src, "ARG GO_VERSION="+goLine[1]+"\n") || stages[0].from != "golang:${GO_VERSION}" {
		t.Errorf("the build stage is %q: want golang:%s, the go line of go.mod", stages[0].from, goLine[1])
	}
	for _, want := range []string{"CGO_ENABLED=0", "GOWORK=off", "./worker/cmd/worker"} {
		if !strings.Contains(src, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}

	final := stages[len(stages)-1] // the default target
	if final.name != "worker" || !strings.HasPrefix(final.from, "gcr.io/distroless/static") {
		t.Errorf("default target %s from %s, want worker from distroless static", final.name, final.from)
	}
	users := final.instruction("USER")
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1], "0") || strings.HasPrefix(users[len(users)-1], "root") {
		t.Errorf("the worker image runs as %v, want a non-root user", users)
	}

	vars := configVars(t)
	var metricsPort string
	for _, env := range final.instruction("ENV") {
		k, v, _ := strings.Cut(env, "=")
		if !vars[k] {
			t.Errorf("the image sets %s, which worker.LoadConfig does not read", k)
		}
		if k == "SPRITE_SESSIONS_METRICS_ADDRESS" {
			_, metricsPort, _ = net.SplitHostPort(v)
		}
	}
	if expose := final.instruction("EXPOSE"); metricsPort == "" || len(expose) != 1 || expose[0] != metricsPort {
		t.Errorf("EXPOSE %v, want the metrics port %q", expose, metricsPort)
	}

	secretish := regexp.MustCompile(`(?i)TOKEN|API_KEY|SECRET|PASSWORD|_DATA\b`)
	names := map[string]bool{}
	for _, s := range stages {
		names[s.name] = true
		for _, instr := range []string{"ENV", "ARG"} {
			for _, l := range s.instruction(instr) {
				if secretish.MatchString(l) {
					t.Errorf("stage %s: %s %s bakes a secret into the image", s.name, instr, l)
				}
			}
		}
	}
	// An ARG is scoped to the stage that declares it, and a stage built FROM
	// another does not inherit it: a stage that cross-compiles with
	// $TARGETARCH must declare it itself.
	for _, s := range stages {
		declared := strings.Join(s.instruction("ARG"), " ")
		for _, v := range []string{"TARGETOS", "TARGETARCH"} {
			if strings.Contains(strings.Join(s.lines, "\n"), "$"+v) && !strings.Contains(declared, v) {
				t.Errorf("stage %s uses $%s without ARG %s: it would build for the build machine", s.name, v, v)
			}
		}
	}
	for _, m := range regexp.MustCompile(`--from=(\S+)`).FindAllStringSubmatch(src, -1) {
		if !names[m[1]] {
			t.Errorf("COPY --from=%s: no such stage", m[1])
		}
	}
	if !names["localsprites"] {
		t.Error("no localsprites target, which compose.yaml builds")
	}
}

// composeValue resolves compose's ${VAR:-default} to its default: the value
// the stack runs with when nothing is set.
func composeValue(s string) string {
	return regexp.MustCompile(`\$\{[A-Z0-9_]+:-([^}]*)\}`).ReplaceAllString(s, "$1")
}

func TestCompose_RunsTheWorkerWithAValidConfig(t *testing.T) {
	c := readOne(t, "compose.yaml")
	for _, svc := range []string{"temporal", "localsprites", "worker"} {
		getMap(t, c, "services", svc)
	}
	vars := configVars(t)
	env := map[string]string{}
	for k, v := range stringMap(t, c, "services", "worker", "environment") {
		if !vars[k] {
			t.Errorf("compose sets %s, which worker.LoadConfig does not read", k)
		}
		if k == "TEMPORAL_API_KEY" {
			t.Error("compose sets TEMPORAL_API_KEY: secrets come from the user's shell, not this file")
		}
		env[k] = composeValue(v)
	}
	cfg, err := worker.LoadConfig(context.Background(), envconfig.MapLookuper(env))
	if err != nil {
		t.Fatalf("the compose worker's environment does not load: %v", err)
	}
	if !strings.HasPrefix(cfg.SpritesAPIURL, "http://localsprites:") {
		t.Errorf("SPRITES_API_URL %s: want the localsprites service by default", cfg.SpritesAPIURL)
	}
	lsEnv := stringMap(t, c, "services", "localsprites", "environment")
	if composeValue(lsEnv["SPRITES_TOKEN"]) != cfg.SpritesToken.Value() {
		t.Error("the worker's default SPRITES_TOKEN is not localsprites' token")
	}
	grace, err := time.ParseDuration(getString(t, c, "services", "worker", "stop_grace_period"))
	if err != nil || grace <= cfg.WorkerStopTimeout {
		t.Errorf("stop_grace_period %v (%v), want more than SPRITE_SESSIONS_WORKER_STOP_TIMEOUT %v", grace, err, cfg.WorkerStopTimeout)
	}
	_, port, _ := net.SplitHostPort(cfg.MetricsAddress)
	if ports := getList(t, c, "services", "worker", "ports"); fmt.Sprint(ports[0]) != "127.0.0.1:"+port+":"+port {
		t.Errorf("worker ports %v, want the metrics port %s on loopback", ports, port)
	}

	for name, svc := range getMap(t, c, "services") {
		s := svc.(map[string]any)
		if ports, ok := s["ports"].([]any); ok {
			for _, p := range ports {
				if !strings.HasPrefix(fmt.Sprint(p), "127.0.0.1:") {
					t.Errorf("service %s publishes %v beyond loopback", name, p)
				}
			}
		}
		if b, ok := s["build"].(map[string]any); ok {
			df := filepath.Join(fmt.Sprint(b["context"]), fmt.Sprint(b["dockerfile"]))
			if filepath.Clean(df) != "../deploy/Dockerfile" {
				t.Errorf("service %s builds %s", name, df)
			}
		}
		if vols, ok := s["volumes"].([]any); ok {
			for _, v := range vols {
				src, _, _ := strings.Cut(fmt.Sprint(v), ":")
				if strings.HasPrefix(src, ".") {
					if _, err := os.Stat(src); err != nil {
						t.Errorf("service %s mounts %s: %v", name, src, err)
					}
				}
			}
		}
	}
}
