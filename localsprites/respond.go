package localsprites

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/sprite-sessions/sprite-sessions/sprites"
)

// writeJSON answers with v as JSON; json.Encoder ends the body with a
// newline, as the real service does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, sprites.ErrorBody{Error: msg})
}

// writeInvalid answers 400 {"errors": [...]}, the validation shape.
func writeInvalid(w http.ResponseWriter, msgs ...string) {
	writeJSON(w, http.StatusBadRequest, sprites.ErrorBody{Errors: msgs})
}

// writeText answers with a plain-text body, the shape some checkpoint
// errors take on the real service.
func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// decodeBody decodes an optional JSON body into v; an empty body is fine.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	return nil
}
