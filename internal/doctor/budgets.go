package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// nearLimit is the share of its memory limit from which a container is
// reported: past it, one busy moment gets it OOM-killed.
const nearLimit = 0.9

// checkBudgets shows each running container's memory and CPU against its
// budget (deploy.resources in compose.yaml), as docker stats reads them
// now, and fails for a container without a limit, near its limit, or
// OOM-killed.
func (d *doctor) checkBudgets(ctx context.Context) (string, error) {
	us, err := d.cfg.Usage(ctx)
	if err != nil {
		return "", err
	}
	if len(us) == 0 {
		return "", errors.New("no container of the stack runs")
	}
	var parts, problems []string
	var sum, limits, cpu float64
	for _, u := range us {
		mib := u.MemBytes / (1 << 20)
		sum += u.MemBytes
		limits += u.LimitBytes
		cpu += u.CPUPercent
		switch {
		case u.LimitBytes == 0:
			parts = append(parts, fmt.Sprintf("%s %.0f MiB (no limit) %.1f%%", u.Service, mib, u.CPUPercent))
			problems = append(problems, u.Service+" runs without a memory limit")
		default:
			parts = append(parts, fmt.Sprintf("%s %.0f/%.0f MiB %.1f%%", u.Service, mib, u.LimitBytes/(1<<20), u.CPUPercent))
			if u.MemBytes >= nearLimit*u.LimitBytes {
				problems = append(problems, fmt.Sprintf("%s uses %.0f%% of its memory limit", u.Service, 100*u.MemBytes/u.LimitBytes))
			}
		}
		if u.OOMKilled {
			problems = append(problems, u.Service+" was OOM-killed")
		}
	}
	detail := fmt.Sprintf("%.0f MiB of %.0f MiB of limits, %.1f%% of one core: %s", sum/(1<<20), limits/(1<<20), cpu, strings.Join(parts, ", "))
	if len(problems) > 0 {
		return "", fmt.Errorf("%s; %s", strings.Join(problems, "; "), detail)
	}
	return detail, nil
}
