package main

import (
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Started by hand, the simulator must not offer its scenario switch to the
// network: the default --listen is a loopback address, and --help says so.
func TestDefaultListenIsLoopback(t *testing.T) {
	host, port, err := net.SplitHostPort(defaultListen)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("default --listen %q is not a loopback address", defaultListen)
	}
	if port != "8000" {
		t.Errorf("default --listen port %s, want 8000 (the port of the real collector and executor)", port)
	}
	var help strings.Builder
	if code := run([]string{"--help"}, &help, &help); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	if !regexp.MustCompile(`-listen string\n[^\n]*\n?[^\n]*\(default "127\.0\.0\.1:8000"\)`).MatchString(help.String()) {
		t.Errorf("--help does not show the loopback default of --listen:\n%s", help.String())
	}
}

// In compose the simulators must listen on every interface of their
// container (Prometheus scrapes them over hft_network), so compose.yaml
// passes --listen :8000 explicitly, and publishes the port, scenario switch
// included, on ${OPS_DEBUG_BIND} only.
func TestComposeListensOnContainerInterfaces(t *testing.T) {
	data, err := os.ReadFile("../../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Image   string   `yaml:"image"`
			Command []string `yaml:"command"`
			Ports   []string `yaml:"ports"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, s := range doc.Services {
		if !strings.HasPrefix(s.Image, "okx-hft-ops/hftsim:") {
			continue
		}
		n++
		i := slices.Index(s.Command, "--listen")
		if i < 0 || i+1 >= len(s.Command) || s.Command[i+1] != ":8000" {
			t.Errorf("services.%s.command %v: want --listen :8000 (the default is loopback, unreachable for Prometheus)", name, s.Command)
		}
		if len(s.Ports) == 0 {
			t.Errorf("services.%s publishes no port: the scenario switch is unreachable from the host", name)
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "${OPS_DEBUG_BIND}:") {
				t.Errorf("services.%s publishes %q: the scenario switch must be on ${OPS_DEBUG_BIND} only", name, p)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d hftsim services in compose.yaml, want 2 (collector, executor)", n)
	}
}
