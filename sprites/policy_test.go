package sprites

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
)

func TestNetworkPolicy_GetAndSetAcceptBothSuccessCodes(t *testing.T) {
	for _, status := range []int{200, 204} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			c, mux := newMuxClient(t)
			var stored []byte
			mux.HandleFunc("POST /v1/sprites/{name}/policy/network", func(w http.ResponseWriter, r *http.Request) {
				var p NetworkPolicy
				if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
					writeRaw(w, 400, "text/plain", "invalid policy")
					return
				}
				stored, _ = json.Marshal(p)
				if status == 204 {
					w.WriteHeader(204)
					return
				}
				writeRaw(w, 200, "application/json", string(stored))
			})
			mux.HandleFunc("GET /v1/sprites/{name}/policy/network", func(w http.ResponseWriter, r *http.Request) {
				writeRaw(w, 200, "application/json", string(stored))
			})
			want := NetworkPolicy{Rules: []PolicyRule{{Include: "defaults"}, {Domain: "*.example.com", Action: "allow"}, {Domain: "*", Action: "deny"}}}
			if err := c.SetNetworkPolicy(context.Background(), "box", want); err != nil {
				t.Fatal(err)
			}
			got, err := c.GetNetworkPolicy(context.Background(), "box")
			if err != nil || !reflect.DeepEqual(*got, want) {
				t.Fatalf("GetNetworkPolicy = %+v, %v; want %+v", got, err, want)
			}
		})
	}
}

func TestSetNetworkPolicy_EmptyMeansUnrestrictedNotNull(t *testing.T) {
	c, mux := newMuxClient(t)
	var raw string
	mux.HandleFunc("POST /v1/sprites/{name}/policy/network", func(w http.ResponseWriter, r *http.Request) {
		var m map[string]json.RawMessage
		_ = json.NewDecoder(r.Body).Decode(&m)
		raw = string(m["rules"])
		w.WriteHeader(204)
	})
	if err := c.SetNetworkPolicy(context.Background(), "box", NetworkPolicy{}); err != nil || raw != "[]" {
		t.Fatalf("SetNetworkPolicy = %v, sent rules %s; want []", err, raw)
	}
}

func TestSetNetworkPolicy_InvalidIsInvalid(t *testing.T) {
	c, mux := newMuxClient(t)
	mux.HandleFunc("POST /v1/sprites/{name}/policy/network", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 400, "text/plain", "invalid domain pattern: **")
	})
	err := c.SetNetworkPolicy(context.Background(), "box", NetworkPolicy{Rules: []PolicyRule{{Domain: "**"}}})
	var apiErr *APIError
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &apiErr) || apiErr.Message != "invalid domain pattern: **" {
		t.Fatalf("err = %v, want ErrInvalid with the server's text", err)
	}
}
