package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	var gotPath, gotHost string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotHost = r.URL.Path, r.Host
		if r.URL.Path == "/ready" {
			w.Write([]byte("ready"))
			return
		}
		http.Error(w, "not yet", http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	if err := check(srv.URL+"/ready", 2*time.Second); err != nil {
		t.Errorf("a 200 answer: %v", err)
	}
	if gotPath != "/ready" || gotHost != strings.TrimPrefix(srv.URL, "http://") {
		t.Errorf("the server saw path %q host %q", gotPath, gotHost)
	}
	if err := check(srv.URL+"/starting", 2*time.Second); err == nil || !strings.Contains(err.Error(), "answered 503") {
		t.Errorf("a 503 answer: %v, want answered 503", err)
	}
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	if err := check("http://localhost:"+strconv.Itoa(port)+"/ready", 2*time.Second); err != nil {
		t.Errorf("localhost stands for 127.0.0.1: %v", err)
	}
}

func TestCheckFailures(t *testing.T) {
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	if err := check("http://"+closed+"/", time.Second); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("closed port: %v", err)
	}

	// A server that accepts and never answers: the timeout ends it.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	err = check("http://"+silent.Addr().String()+"/", 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Errorf("silent server: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the 300ms timeout took %s", took)
	}

	// Something that is not HTTP.
	junk, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer junk.Close()
	go func() {
		c, err := junk.Accept()
		if err == nil {
			c.Write([]byte("SSH-2.0-OpenSSH\r\n"))
			c.Close()
		}
	}()
	if err := check("http://"+junk.Addr().String()+"/", time.Second); err == nil || !strings.Contains(err.Error(), "not an HTTP answer") {
		t.Errorf("not HTTP: %v", err)
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"https://127.0.0.1:3000/", "only http://"},
		{"http://grafana:3000/api/health", "IPv4 address"},
		{"http://127.0.0.1:99999/", "bad port"},
		{"http://127.0.0.256:80/", "IPv4 address"},
	} {
		if _, err := parse(c.url); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parse(%q): %v, want %q", c.url, err, c.want)
		}
	}
	ep, err := parse("http://127.0.0.1:3100")
	if err != nil || ep.path != "/" || ep.port != 3100 || ep.addr != [4]byte{127, 0, 0, 1} {
		t.Errorf("parse without a path: %+v %v", ep, err)
	}
}

func TestRunUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"--help"}, 0},
		{[]string{"--timeout"}, 2},
		{[]string{"--timeout", "soon", "http://127.0.0.1:1/"}, 2},
		{[]string{"http://127.0.0.1:1/", "http://127.0.0.1:2/"}, 2},
		{[]string{"--timeout=1s", "http://127.0.0.1:1/"}, 1},
	} {
		if got := run(c.args); got != c.code {
			t.Errorf("run(%q) = %d, want %d", c.args, got, c.code)
		}
	}
}
