package feed

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// RequestError is a client's mistake in a request: it becomes a 4xx (or a
// 503) with docs/API.md's JSON error body, {"error": ...} and the fields below
// when set. It is the one error body of every endpoint.
type RequestError struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
	// Fields names each bad field of a request body (POST /api/bench).
	Fields         []string `json:"fields,omitempty"`
	UnknownSymbols []string `json:"unknownSymbols,omitempty"`
	UnknownEvents  []string `json:"unknownEvents,omitempty"`
	UnknownParams  []string `json:"unknownParams,omitempty"`
	// Job names the bench job in the way of a new one (a 409).
	Job        string `json:"job,omitempty"`
	RetryAfter int    `json:"retryAfter,omitempty"` // seconds; also sent as Retry-After
}

func (e *RequestError) Error() string { return e.Message }

// WriteError writes err as docs/API.md's JSON error body. Any error that is not
// a *RequestError is a 500 whose text is not shown.
func WriteError(w http.ResponseWriter, err error) {
	var re *RequestError
	if !errors.As(err, &re) {
		re = &RequestError{Status: http.StatusInternalServerError, Message: "internal error"}
	}
	if re.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(re.RetryAfter))
	}
	b, _ := json.Marshal(re)
	WriteJSON(w, re.Status, append(b, '\n'))
}

// WriteJSON writes body, which is JSON, with status: the one way the
// server answers with JSON, errors ([WriteError]) and data alike. Nothing
// caches it and no browser sniffs it for another type.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}
