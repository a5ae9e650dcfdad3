package check

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/okx-hft/okx-hft-ops/internal/alloy"
)

const alloyFile = "alloy/config.alloy"

func (r *Repo) checkAlloy() {
	data, ok := r.read(alloyFile)
	if !ok {
		return
	}
	findings, urls := alloy.Check(alloyFile, data)
	r.f = append(r.f, findings...)
	hasLokiWrite := false
	for _, u := range urls {
		pos := fmt.Sprint(u.Pos.Line)
		if u.DockerHost {
			parsed, err := url.Parse(u.Value)
			if err == nil && parsed.Scheme == "unix" {
				r.checkAlloySocket(pos, parsed.Path)
			}
			continue
		}
		parsed, err := url.Parse(u.Value)
		if err != nil {
			continue
		}
		r.checkEndpoint(alloyFile, pos, u.Component+" "+u.Attribute, parsed.Hostname(), parsed.Port(), true)
		if strings.HasPrefix(u.Component, "loki.write") {
			hasLokiWrite = true
			if s, ok := r.serviceByHost(parsed.Hostname()); ok && s.Name != "loki" {
				r.f.Errorf("alloy", alloyFile, pos, "point loki.write at http://loki:3100/loki/api/v1/push", "loki.write sends to %s, not loki", s.Name)
			}
			if parsed.Path != "/loki/api/v1/push" {
				r.f.Errorf("alloy", alloyFile, pos, "use the push path /loki/api/v1/push", "loki.write url path %q is not Loki's push API", parsed.Path)
			}
		}
	}
	if !hasLokiWrite && len(findings) == 0 {
		r.f.Errorf("alloy", alloyFile, "", "add loki.write with endpoint url http://loki:3100/loki/api/v1/push", "Alloy sends logs nowhere")
	}
}

// checkAlloySocket verifies that the Docker socket Alloy reads is mounted
// into the alloy container.
func (r *Repo) checkAlloySocket(pos, socket string) {
	s, ok := r.service("alloy")
	if !ok {
		return
	}
	for _, v := range s.Volumes {
		if v.Target == socket {
			return
		}
	}
	r.f.Errorf("alloy", alloyFile, pos, fmt.Sprintf("mount /var/run/docker.sock at %s (read-only) in the alloy service", socket), "Alloy reads the Docker socket %s, which is not mounted", socket)
}
