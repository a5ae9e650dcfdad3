package main

import "testing"

// Doctor must reach the proxy where it is published: a port bound to one
// LAN address is not reachable on loopback, a wildcard one is.
func TestDialHost(t *testing.T) {
	for bind, want := range map[string]string{
		"":            "127.0.0.1",
		"0.0.0.0":     "127.0.0.1",
		"::":          "::1",
		"127.0.0.1":   "127.0.0.1",
		"192.168.1.5": "192.168.1.5",
		"::1":         "::1",
		"fd00::5":     "fd00::5",
		"not-an-addr": "not-an-addr",
	} {
		if got := dialHost(bind); got != want {
			t.Errorf("dialHost(%q) = %q, want %q", bind, got, want)
		}
	}
}
