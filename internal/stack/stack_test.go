package stack

import (
	"net"
	"strings"
	"testing"
)

func TestAtLeast(t *testing.T) {
	cases := map[string]bool{"2.40.3": true, "2.20.0": true, "2.19.9": false, "1.29.2": false, "3.0": true, "2.20.0-desktop.1": true}
	for v, want := range cases {
		if got := atLeast(v, MinComposeVersion); got != want {
			t.Errorf("atLeast(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestPortFree(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = PortFree(l.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "OPS_HTTP_PORT") {
		t.Fatalf("a held port must be reported with the fix, got %v", err)
	}
	free, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := free.Addr().String()
	free.Close()
	if err := PortFree(addr); err != nil {
		t.Fatalf("free port reported taken: %v", err)
	}
}

func TestContainerStatus(t *testing.T) {
	cases := []struct {
		c    Container
		want string
	}{
		{Container{State: "running", Health: "healthy"}, "healthy"},
		{Container{State: "running"}, "running"},
		{Container{State: "exited", ExitCode: 3}, "exited (3)"},
	}
	for _, c := range cases {
		if got := c.c.Status(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.c, got, c.want)
		}
	}
}
