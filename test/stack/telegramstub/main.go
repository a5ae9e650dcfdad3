// Command telegramstub stands in for Telegram's Bot API in the stack test:
// Alertmanager's api_url points at it, it answers sendMessage as Telegram
// does and keeps every message for the test to read at GET /messages.
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/tghtml"
)

// Message is one received sendMessage call.
type Message struct {
	Token    string          `json:"token"`
	Received time.Time       `json:"received"`
	Body     json.RawMessage `json:"body"`
}

func main() {
	addr := flag.String("listen", ":8081", "listen address")
	flag.Parse()
	var mu sync.Mutex
	var messages []Message
	http.HandleFunc("/messages", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodDelete {
			messages = nil
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(messages)
	})
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// /bot<token>/sendMessage
		path := strings.TrimPrefix(r.URL.Path, "/")
		token, method, ok := strings.Cut(path, "/")
		if !ok || !strings.HasPrefix(token, "bot") || method != "sendMessage" || r.Method != http.MethodPost {
			http.Error(w, `{"ok":false,"error_code":404,"description":"Not Found"}`, http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if !json.Valid(body) {
			http.Error(w, `{"ok":false,"error_code":400,"description":"Bad Request: invalid JSON"}`, http.StatusBadRequest)
			return
		}
		// Telegram refuses HTML it cannot parse; so does the stand-in, so
		// that a template producing such messages fails the stack test.
		var msg struct {
			Text      string `json:"text"`
			ParseMode string `json:"parse_mode"`
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			// Valid JSON of the wrong shape (a number for text, say).
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": 400, "description": "Bad Request: " + err.Error()})
			return
		}
		if msg.ParseMode == "HTML" {
			if err := tghtml.Validate(msg.Text); err != nil {
				log.Printf("refused a message: %v", err)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": 400, "description": "Bad Request: " + err.Error()})
				return
			}
		}
		mu.Lock()
		messages = append(messages, Message{Token: strings.TrimPrefix(token, "bot"), Received: time.Now(), Body: body})
		n := len(messages)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": map[string]any{"message_id": n, "date": time.Now().Unix(), "chat": map[string]any{"id": 0}}})
	})
	log.Printf("telegram stand-in listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
