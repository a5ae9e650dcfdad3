// Package converge runs ansible/site.yml for real against a throwaway
// Debian 12 server: a container of okx-local/ansible-target:bookworm with
// systemd as PID 1 and sshd, on an internal Docker network of its own (no
// traffic leaves the machine). It converges twice; the second run must
// change nothing. Then it checks what the roles promise on the target
// itself: the SSH hardening sshd applies, the host firewall in the kernel
// (an address outside ops_ssh_allowed cannot reach SSH, nor a port the
// host listens on), chrony, unattended upgrades, the node's checkout,
// .env and systemd unit.
//
// What the container cannot stand in for is switched off by variables and
// said in the README: no Docker engine is started in it (docker_service_start),
// the node is not started (ops_node_start: no images there), no data volume
// is mounted (ops_node_data_device), and chronyd runs with -x (it must not
// set the clock of the machine running the test).
package converge

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/repotree"
)

const (
	image     = "okx-local/ansible-target:bookworm"
	network   = "okxops-converge"
	target    = "okxops-converge-target"
	intruder  = "okxops-converge-intruder"
	adminUser = "ops"
)

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func must(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := run(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// onTarget runs a command on the target as root, as the test's own eyes
// (not through Ansible).
func onTarget(t *testing.T, cmd string) (string, error) {
	t.Helper()
	return run(t, "docker", "exec", target, "sh", "-c", cmd)
}

var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

var recap = regexp.MustCompile(`(?m)^\S+\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

func TestConverge(t *testing.T) {
	if os.Getenv("OPS_STACK_TEST") != "1" {
		t.Skip("needs Docker and the local images: make test-stack (README: What is verified how)")
	}
	venv := os.Getenv("OPS_ANSIBLE_VENV")
	if venv == "" {
		t.Fatal("OPS_ANSIBLE_VENV is not set: run through make test-stack, which builds the virtualenv with ansible-core")
	}
	root, err := repotree.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	head := must(t, "git", "-C", root, "rev-parse", "HEAD")

	// A clean start: what an earlier, interrupted run left is removed.
	cleanup := func() {
		_, _ = run(t, "docker", "rm", "-f", "-v", target, intruder)
		_, _ = run(t, "docker", "network", "rm", network)
	}
	cleanup()
	t.Cleanup(cleanup)
	must(t, "docker", "network", "create", "--internal", "--subnet", "172.31.250.0/24", network)

	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	must(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "converge-test", "-f", key)
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}

	// The target: a server as terraform/hetzner's cloud-init leaves it.
	must(t, "docker", "run", "-d", "--name", target, "--hostname", "ops-node",
		// Not --privileged (refused where the engine itself runs confined):
		// systemd needs SYS_ADMIN, nftables NET_ADMIN, and chrony's unit
		// starts only with SYS_TIME (chronyd runs with -x: it never sets
		// the clock).
		"--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--cap-add", "SYS_TIME",
		"--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
		"--network", network, "--ip", "172.31.250.10",
		"--tmpfs", "/run", "--tmpfs", "/run/lock", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro",
		"-v", root+":/srv/okx-hft-ops.git:ro", "-e", "container=docker", image)
	// The intruder: any other address on the network.
	must(t, "docker", "run", "-d", "--name", intruder, "--network", network, "--ip", "172.31.250.20",
		"--entrypoint", "sleep", image, "infinity")
	waitSystemd(t)
	cloudInit := fmt.Sprintf(`set -e
useradd --create-home --shell /bin/bash --groups sudo %[1]s
passwd -l %[1]s
install -d -m 0700 -o %[1]s -g %[1]s /home/%[1]s/.ssh
printf '%%s\n' '%[2]s' > /home/%[1]s/.ssh/authorized_keys
chown %[1]s:%[1]s /home/%[1]s/.ssh/authorized_keys && chmod 0600 /home/%[1]s/.ssh/authorized_keys
echo '%[1]s ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-cloud-init-users`, adminUser, strings.TrimSpace(string(pub)))
	if out, err := onTarget(t, cloudInit); err != nil {
		t.Fatalf("preparing the target as cloud-init would: %v\n%s", err, out)
	}

	// The controller is the host: its address on the network is the only
	// one SSH admits.
	gateway := must(t, "docker", "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", network)
	if gateway == "" {
		gateway = "172.31.250.1"
	}
	inventory := filepath.Join(dir, "inventory.yml")
	inv := fmt.Sprintf(`all:
  hosts:
    ops-node:
      ansible_host: 172.31.250.10
      ansible_user: %s
      ansible_ssh_private_key_file: %s
      ansible_ssh_common_args: "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=accept-new"
      ops_ssh_allowed: ["%s/32"]
      ops_private_network: "172.31.250.0/24"
      ops_domain: ops.example.com
      ops_data_device: ""
      # What the container cannot stand in for (test/converge/converge_test.go).
      base_chrony_daemon_opts: "-F 1 -x"
      base_public_interface: eth0
      base_apt_update_cache: false
      docker_source: debian
      docker_service_start: false
      ops_node_start: false
      ops_node_repo_url: /srv/okx-hft-ops.git
      ops_node_repo_version: %s
`, adminUser, key, filepath.Join(dir, "known_hosts"), gateway, head)
	if err := os.WriteFile(inventory, []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	waitPort(t, "172.31.250.10:22")

	var changed [2]int
	for i := range 2 {
		start := time.Now()
		out, err := playbook(t, venv, root, inventory)
		took := time.Since(start).Round(time.Second)
		m := recap.FindStringSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("converge %d: %v\n%s", i+1, err, tail(out, 120))
		}
		changed[i], _ = strconv.Atoi(m[2])
		t.Logf("converge %d: ok=%s changed=%s unreachable=%s failed=%s in %s", i+1, m[1], m[2], m[3], m[4], took)
		if m[3] != "0" || m[4] != "0" {
			t.Fatalf("converge %d failed:\n%s", i+1, tail(out, 120))
		}
		if i == 1 && changed[1] != 0 {
			t.Errorf("the second converge changed %d things; it must change nothing:\n%s", changed[1], changedTasks(out))
		}
	}
	if changed[0] == 0 {
		t.Error("the first converge changed nothing: the target was not a fresh server")
	}

	t.Run("target in the promised state", func(t *testing.T) { checkTarget(t, head) })
	t.Run("host firewall admits SSH from the allowed address only", checkFirewall)
}

func playbook(t *testing.T, venv, root, inventory string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(venv, "bin", "ansible-playbook"), "-i", inventory, "site.yml")
	cmd.Dir = filepath.Join(root, "ansible")
	cmd.Env = append(os.Environ(), "ANSIBLE_FORCE_COLOR=0", "ANSIBLE_NOCOLOR=1", "PATH="+filepath.Join(venv, "bin")+":"+os.Getenv("PATH"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// changedTasks lists the task headers followed by a "changed:" line.
func changedTasks(out string) string {
	var b strings.Builder
	task := ""
	for _, l := range strings.Split(ansiEscape.ReplaceAllString(out, ""), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "TASK [") || strings.HasPrefix(l, "RUNNING HANDLER [") {
			task = l
		}
		if strings.HasPrefix(l, "changed:") {
			b.WriteString(task + "\n  " + l + "\n")
		}
	}
	return b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func waitSystemd(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, _ := onTarget(t, "systemctl is-system-running")
		state := strings.TrimSpace(out)
		if state == "running" || state == "degraded" {
			return
		}
		if time.Now().After(deadline) {
			failed, _ := onTarget(t, "systemctl --failed --no-pager")
			t.Fatalf("systemd in the target did not come up: %q\n%s", state, failed)
		}
		time.Sleep(time.Second)
	}
}

func waitPort(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd of the target does not answer at %s: %v", addr, err)
		}
		time.Sleep(time.Second)
	}
}

func checkTarget(t *testing.T, head string) {
	expect := func(what, cmd, want string) {
		t.Helper()
		out, err := onTarget(t, cmd)
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("%s: `%s` gave %q (%v), want it to contain %q", what, cmd, strings.TrimSpace(out), err, want)
		}
	}
	sshd := "sshd -T -C user=" + adminUser + ",host=x,addr=172.31.250.1"
	expect("root cannot log in over SSH", sshd, "permitrootlogin no")
	expect("no password logins", sshd, "passwordauthentication no")
	expect("no keyboard-interactive logins", sshd, "kbdinteractiveauthentication no")
	expect("sshd restarted with the hardened config", "systemctl is-active ssh", "active")
	expect("chrony runs", "systemctl is-active chrony", "active")
	expect("chrony with the configured pool", "cat /etc/chrony/chrony.conf", "pool ")
	expect("unattended security upgrades on", "apt-config dump APT::Periodic::Unattended-Upgrade", `"1"`)
	expect("only security origins upgraded unattended", "apt-config dump Unattended-Upgrade::Origins-Pattern", "Debian-Security")
	expect("the host firewall unit is active", "systemctl is-active okx-hft-ops-firewall", "active")
	expect("the host firewall's table is loaded", "nft list table inet okx_hft_ops", "hook input")
	expect("the node's unit starts at boot", "systemctl is-enabled okx-hft-ops.service", "enabled")
	expect("the checkout is the commit asked for", "git -C /opt/okx-hft-ops rev-parse HEAD", head)
	expect("opsctl is installed and runs", "/usr/local/bin/opsctl help 2>&1 || /usr/local/bin/opsctl --help 2>&1", "opsctl")
	expect(".env is private", "stat -c %a /opt/okx-hft-ops/.env", "600")
	// ops_domain is set: the tls profile, HTTPS under the name, the plain
	// proxy on loopback.
	expect("a domain turns the tls profile on", "grep -x COMPOSE_PROFILES=tls /opt/okx-hft-ops/.env", "COMPOSE_PROFILES=tls")
	expect("the public URL is HTTPS under the domain", "grep -x 'OPS_PUBLIC_URL=.*' /opt/okx-hft-ops/.env", "OPS_PUBLIC_URL=https://ops.example.com")
	expect("the plain proxy stays on loopback", "grep -x 'OPS_BIND_ADDRESS=.*' /opt/okx-hft-ops/.env", "OPS_BIND_ADDRESS=127.0.0.1")
	expect("the debug ports stay on loopback", "grep -x OPS_DEBUG_BIND=127.0.0.1 /opt/okx-hft-ops/.env", "OPS_DEBUG_BIND=127.0.0.1")
	expect("opsctl init generated the secrets", "grep -c '^PROXY_BASIC_AUTH_PASSWORD=.\\+' /opt/okx-hft-ops/.env", "1")
	expect("the admin user may use Docker", "id -nG "+adminUser, "docker")
	expect("the clock is UTC", "readlink /etc/localtime", "UTC")
}

// checkFirewall: the intruder, an address outside ops_ssh_allowed, reaches
// neither SSH nor a port something listens on; the test's own address
// (the controller's) reaches SSH, which the second converge already proved.
func checkFirewall(t *testing.T) {
	// Something listening on all interfaces, as a careless service would.
	if out, err := onTarget(t, "nohup python3 -m http.server 9999 >/dev/null 2>&1 & sleep 1; ss -ltn | grep -c ':9999 '"); err != nil || !strings.Contains(out, "1") {
		t.Fatalf("cannot start a listener on the target: %v %s", err, out)
	}
	probe := func(port string) bool {
		out, err := run(t, "docker", "exec", intruder, "python3", "-c",
			fmt.Sprintf("import socket,sys\ns=socket.socket(); s.settimeout(3)\ntry:\n  s.connect(('172.31.250.10', %s)); print('open')\nexcept Exception as e:\n  print('closed', e)", port))
		if err != nil {
			t.Fatalf("probe from the intruder: %v %s", err, out)
		}
		return strings.HasPrefix(strings.TrimSpace(out), "open")
	}
	for _, p := range []string{"22", "9999"} {
		if probe(p) {
			t.Errorf("port %s of the target answers an address outside ops_ssh_allowed", p)
		}
	}
	// The same listener answers on the target's loopback: the firewall,
	// not a dead listener, kept the intruder out.
	if out, err := onTarget(t, "python3 -c \"import socket; socket.create_connection(('127.0.0.1', 9999), 3); print('open')\""); err != nil || !strings.Contains(out, "open") {
		t.Errorf("the listener does not answer on the target's loopback either (%v %s): the probe proves nothing", err, out)
	}
	// SSH from the allowed address (the controller).
	c, err := net.DialTimeout("tcp", "172.31.250.10:22", 3*time.Second)
	if err != nil {
		t.Errorf("SSH does not answer the allowed address: %v", err)
	} else {
		c.Close()
	}
}
