package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// readYAML decodes every document of a YAML file.
func readYAML(t *testing.T, path string) []map[string]any {
	t.Helper()
	docs, err := decodeYAML(path)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func decodeYAML(path string) ([]map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: no YAML document", path)
	}
	return docs, nil
}

// readOne decodes a single-document YAML file.
func readOne(t *testing.T, path string) map[string]any {
	t.Helper()
	docs := readYAML(t, path)
	if len(docs) != 1 {
		t.Fatalf("%s: %d documents, want 1", path, len(docs))
	}
	return docs[0]
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// get walks a decoded document along keys (map keys, or list indexes given
// as int) and fails the test when the path does not exist.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for i, k := range path {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: not a map", path[:i])
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("missing %v", path[:i+1])
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at %v: no element %d", path[:i], k)
			}
			v = l[k]
		}
	}
	return v
}

func getString(t *testing.T, v any, path ...any) string {
	t.Helper()
	s, ok := get(t, v, path...).(string)
	if !ok {
		t.Fatalf("%v: not a string", path)
	}
	return s
}

func getList(t *testing.T, v any, path ...any) []any {
	t.Helper()
	l, ok := get(t, v, path...).([]any)
	if !ok {
		t.Fatalf("%v: not a list", path)
	}
	return l
}

func getMap(t *testing.T, v any, path ...any) map[string]any {
	t.Helper()
	m, ok := get(t, v, path...).(map[string]any)
	if !ok {
		t.Fatalf("%v: not a map", path)
	}
	return m
}

// TestArtefacts_ParseAsYAMLAndJSON keeps a syntax error in any artefact from
// reaching a cluster: every YAML and JSON file under deploy/ must parse.
func TestArtefacts_ParseAsYAMLAndJSON(t *testing.T) {
	var n int
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml":
			n++
			if _, err := decodeYAML(path); err != nil {
				t.Error(err)
			}
		case ".json":
			n++
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !json.Valid(b) {
				t.Errorf("%s: invalid JSON", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("found %d YAML/JSON files under deploy/, want the full set (>= 10)", n)
	}
}

// kubeObjects reads the Kubernetes manifests by kind.
func kubeObjects(t *testing.T) map[string]map[string]any {
	t.Helper()
	objs := map[string]map[string]any{}
	paths, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		for _, doc := range readYAML(t, p) {
			kind, _ := doc["kind"].(string)
			if kind == "" {
				t.Fatalf("%s: a document without kind", p)
			}
			if _, dup := objs[kind]; dup {
				t.Fatalf("%s: a second %s", p, kind)
			}
			objs[kind] = doc
		}
	}
	return objs
}
