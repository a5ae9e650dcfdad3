output "ipv4_address" {
  description = "The server's public IPv4 address: point the domain's A record here."
  value       = hcloud_server.node.ipv4_address
}

output "ipv6_address" {
  description = "The server's public IPv6 address (an AAAA record for the domain)."
  value       = hcloud_server.node.ipv6_address
}

output "private_ip" {
  description = "The node's address on the private network, for the trading servers' Prometheus and Loki pushes."
  value       = var.private_ip
}

output "network_id" {
  description = "The private network the trading servers join (hcloud_server_network or a server's network block)."
  value       = hcloud_network.private.id
}

output "volume_device" {
  description = "The data volume's device on the server: ansible/ mounts it at /var/lib/docker."
  value       = hcloud_volume.data.linux_device
}

output "node_url" {
  description = "The node's entry point."
  value       = var.domain != "" ? "https://${var.domain}/" : "http://${hcloud_server.node.ipv4_address}/"
}

output "ssh" {
  description = "How to log in."
  value       = "ssh ${var.admin_user}@${hcloud_server.node.ipv4_address}"
}

output "ansible_inventory" {
  description = "An inventory for ansible/site.yml: tofu output -raw ansible_inventory > ansible/inventory/hetzner.yml"
  value = yamlencode({
    all = {
      hosts = {
        (var.name) = {
          ansible_host        = hcloud_server.node.ipv4_address
          ansible_user        = var.admin_user
          ops_data_device     = hcloud_volume.data.linux_device
          ops_private_ip      = var.private_ip
          ops_domain          = var.domain
          ops_ssh_allowed     = var.ssh_allowed_cidrs
          ops_private_network = var.network_ip_range
        }
      }
    }
  })
}
