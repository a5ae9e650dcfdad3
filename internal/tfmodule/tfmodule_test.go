package tfmodule

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/okx-hft/okx-hft-ops/internal/repotree"
)

func hetzner(t *testing.T) *Module {
	t.Helper()
	root, err := repotree.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	m, diags := Load(filepath.Join(root, "terraform", "hetzner"), "terraform/hetzner")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return m
}

func strs(s ...string) cty.Value {
	var vs []cty.Value
	for _, x := range s {
		vs = append(vs, cty.StringVal(x))
	}
	return cty.ListVal(vs)
}

// The firewall of the Hetzner module opens exactly SSH (from the variable)
// and 80/443, and nothing else.
func TestHetznerFirewallOpensOnlySSHAndTheProxy(t *testing.T) {
	rules, diags := hetzner(t).InboundRules()
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var got []string
	for _, r := range rules {
		src := r.SourceVar
		if src == "" {
			src = strings.Join(r.Sources, ",")
		} else {
			src = "var." + src
		}
		got = append(got, r.Protocol+"/"+r.Port+" from "+src)
	}
	want := []string{"tcp/22 from var.ssh_allowed_cidrs", "tcp/80 from 0.0.0.0/0,::/0", "tcp/443 from 0.0.0.0/0,::/0"}
	if !slices.Equal(got, want) {
		t.Errorf("inbound rules\n got %q\nwant %q", got, want)
	}
}

// The variables' validations, evaluated as tofu plan evaluates them.
func TestHetznerVariableValidations(t *testing.T) {
	m := hetzner(t)
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1w8fK3LqZkq4y8Wb1r1o5XK2cT3H7zgU7x0m8G9fQp ops@laptop"
	cases := []struct {
		name    string
		value   cty.Value
		refused string // "" accepted
	}{
		{"ssh_allowed_cidrs", strs("203.0.113.7/32", "2001:db8::/64"), ""},
		{"ssh_allowed_cidrs", strs("0.0.0.0/0"), "must not be the whole internet"},
		{"ssh_allowed_cidrs", strs("::/0"), "must not be the whole internet"},
		{"ssh_allowed_cidrs", strs("203.0.113.7"), "must be a CIDR"},
		{"ssh_allowed_cidrs", cty.ListValEmpty(cty.String), "at least one address"},
		{"ssh_public_keys", cty.MapVal(map[string]cty.Value{"laptop": cty.StringVal(key + "\n")}), ""},
		{"ssh_public_keys", cty.MapVal(map[string]cty.Value{"laptop": cty.StringVal("~/.ssh/id_ed25519.pub")}), "one OpenSSH public key line"},
		{"ssh_public_keys", cty.MapVal(map[string]cty.Value{"laptop": cty.StringVal("-----BEGIN OPENSSH PRIVATE KEY-----")}), "one OpenSSH public key line"},
		{"ssh_public_keys", cty.MapValEmpty(cty.String), "at least one key"},
		{"admin_user", cty.StringVal("root"), "other than root"},
		{"admin_user", cty.StringVal("deploy"), ""},
		{"volume_size", cty.NumberIntVal(40), "between 60 GB"},
		{"domain", cty.StringVal("https://ops.example.com/"), "must be a DNS name"},
		{"domain", cty.StringVal("ops.example.com"), ""},
		{"name", cty.StringVal("Ops_Node"), "hostname label"},
	}
	for _, c := range cases {
		failed, err := m.ValidateVariable(c.name, c.value)
		if err != nil {
			t.Errorf("%s = %#v: %v", c.name, c.value, err)
			continue
		}
		msg := strings.Join(failed, "; ")
		switch {
		case c.refused == "" && len(failed) > 0:
			t.Errorf("%s = %#v refused: %s", c.name, c.value, msg)
		case c.refused != "" && !strings.Contains(msg, c.refused):
			t.Errorf("%s = %#v: got %q, want a refusal with %q", c.name, c.value, msg, c.refused)
		}
	}
	if _, err := m.ValidateVariable("volume_size", cty.StringVal("big")); err == nil {
		t.Error("a string for a number variable was accepted")
	}
}

// The shims of Terraform's functions give Terraform's documented results.
func TestFunctionsAsTerraform(t *testing.T) {
	f := Functions(t.TempDir())
	call := func(name string, args ...cty.Value) (cty.Value, error) { return f[name].Call(args) }
	for _, c := range []struct {
		name string
		args []cty.Value
		want string
	}{
		{"cidrhost", []cty.Value{cty.StringVal("10.12.112.0/20"), cty.NumberIntVal(16)}, "10.12.112.16"},
		{"cidrhost", []cty.Value{cty.StringVal("fd00:fd12:3456:7890:00a2::/72"), cty.NumberIntVal(34)}, "fd00:fd12:3456:7890::22"},
		{"cidrnetmask", []cty.Value{cty.StringVal("172.16.0.0/12")}, "255.240.0.0"},
		{"cidrnetmask", []cty.Value{cty.StringVal("10.0.0.0/0")}, "0.0.0.0"},
	} {
		got, err := call(c.name, c.args...)
		if err != nil || got.AsString() != c.want {
			t.Errorf("%s%v = %#v, %v; want %s", c.name, c.args, got, err, c.want)
		}
	}
	if _, err := call("cidrnetmask", cty.StringVal("2001:db8::/64")); err == nil {
		t.Error("cidrnetmask of an IPv6 network succeeded; Terraform refuses it")
	}
	if _, err := call("cidrhost", cty.StringVal("10.0.0.0/30"), cty.NumberIntVal(4)); err == nil {
		t.Error("cidrhost beyond the prefix succeeded")
	}
	if _, err := call("cidrhost", cty.StringVal("10.0.0.1"), cty.NumberIntVal(0)); err == nil {
		t.Error("cidrhost of an address without a prefix succeeded")
	}
	v, _ := call("alltrue", cty.ListVal([]cty.Value{cty.True, cty.False}))
	w, _ := call("anytrue", cty.ListVal([]cty.Value{cty.False, cty.True}))
	e, _ := call("alltrue", cty.ListValEmpty(cty.Bool))
	if v.True() || !w.True() || !e.True() {
		t.Errorf("alltrue/anytrue: %#v %#v %#v", v, w, e)
	}
}
