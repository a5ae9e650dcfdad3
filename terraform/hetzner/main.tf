locals {
  labels = merge(var.labels, {
    "app"  = "okx-hft-ops"
    "node" = var.name
  })
}

resource "hcloud_ssh_key" "admin" {
  for_each = var.ssh_public_keys

  name       = "${var.name}-${each.key}"
  public_key = trimspace(each.value)
  labels     = local.labels
}

# The private network the trading servers (collector, executor, TimescaleDB)
# join: they push metrics and logs to the node over it, never over the
# internet.
resource "hcloud_network" "private" {
  name     = var.name
  ip_range = var.network_ip_range
  labels   = local.labels
}

resource "hcloud_network_subnet" "servers" {
  network_id   = hcloud_network.private.id
  type         = "cloud"
  network_zone = var.network_zone
  ip_range     = var.subnet_ip_range
}

# The only ports open: SSH from ssh_allowed_cidrs, and 80/443 of the proxy,
# the node's one entry point (80 redirects to 443). Every admin UI is behind
# the proxy, and the debug ports are bound to 127.0.0.1 on the server
# (OPS_DEBUG_BIND). opsctl check refuses any other inbound rule.
resource "hcloud_firewall" "node" {
  name   = var.name
  labels = local.labels

  rule {
    description = "SSH from the administrators' addresses only"
    direction   = "in"
    protocol    = "tcp"
    port        = "22"
    source_ips  = var.ssh_allowed_cidrs
  }

  rule {
    description = "HTTP: the proxy redirects to HTTPS and answers ACME challenges"
    direction   = "in"
    protocol    = "tcp"
    port        = "80"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }

  rule {
    description = "HTTPS: the proxy, the node's only entry point"
    direction   = "in"
    protocol    = "tcp"
    port        = "443"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }
}

# Every Docker volume lives here (Ansible mounts it at /var/lib/docker), so
# the server can be rebuilt or resized without touching the data.
resource "hcloud_volume" "data" {
  name              = "${var.name}-data"
  location          = var.location
  size              = var.volume_size
  format            = "ext4"
  delete_protection = var.protect
  labels            = local.labels
}

resource "hcloud_server" "node" {
  name               = var.name
  server_type        = var.server_type
  image              = var.image
  location           = var.location
  ssh_keys           = [for k in hcloud_ssh_key.admin : k.id]
  firewall_ids       = [hcloud_firewall.node.id]
  delete_protection  = var.protect
  rebuild_protection = var.protect
  labels             = local.labels

  user_data = templatefile("${path.module}/cloud-init.yaml.tftpl", {
    admin_user = var.admin_user
    ssh_keys   = [for k in values(var.ssh_public_keys) : trimspace(k)]
  })

  public_net {
    ipv4_enabled = true
    ipv6_enabled = true
  }

  network {
    network_id = hcloud_network.private.id
    ip         = var.private_ip
    # Without it Terraform 1.4+ detaches and re-attaches the network on
    # every apply (the provider's issue #650).
    alias_ips = []
  }

  # The subnet cannot be referenced by the server in Hetzner's API, so the
  # provider asks for this ordering (hcloud_server's documentation).
  depends_on = [hcloud_network_subnet.servers]

  lifecycle {
    # Keys and user data apply at creation only; a change must not destroy
    # the node. Ansible manages the authorized keys after that.
    ignore_changes = [ssh_keys, user_data]
  }
}

resource "hcloud_volume_attachment" "data" {
  volume_id = hcloud_volume.data.id
  server_id = hcloud_server.node.id
  # Ansible mounts it by its device id, before Docker starts.
  automount = false
}
