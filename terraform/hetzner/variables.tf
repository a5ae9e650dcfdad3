variable "name" {
  description = "Name of the node: the server, its volume, network and firewall are named after it."
  type        = string
  default     = "okx-hft-ops"

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.name))
    error_message = "name must be a hostname label (RFC 1123): lower-case letters, digits and '-', at most 63 characters, starting with a letter."
  }
}

variable "server_type" {
  description = "Hetzner server type. cx33 (4 vCPU, 8 GB) is the smallest that fits the node with Airflow: OPS_MEMORY_BUDGET is 6G and the stack test measures about 2.3 GiB idle, 2.8 GiB during a task. cx23 (4 GB) fits only without Airflow."
  type        = string
  default     = "cx33"
}

variable "location" {
  description = "Hetzner location of the server and its volume (fsn1, nbg1, hel1, ash, hil, sin). Put it near the exchange's servers the trading services talk to."
  type        = string
  default     = "fsn1"
}

variable "image" {
  description = "Operating system image. Debian 12 is what the Ansible roles are converged against in the tests."
  type        = string
  default     = "debian-12"
}

variable "ssh_public_keys" {
  description = "SSH public keys allowed to log in as admin_user, by name (the name becomes the key's name in the Hetzner project)."
  type        = map(string)

  validation {
    condition     = length(var.ssh_public_keys) > 0
    error_message = "ssh_public_keys must hold at least one key: without one nobody can log in to the server (password logins are off)."
  }
  validation {
    condition     = alltrue([for k in values(var.ssh_public_keys) : can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh.com|sk-ecdsa-sha2-nistp256@openssh.com) [A-Za-z0-9+/=]+( .*)?$", trimspace(k)))])
    error_message = "every value of ssh_public_keys must be one OpenSSH public key line (for example the content of ~/.ssh/id_ed25519.pub), not a private key or a file name."
  }
}

variable "ssh_allowed_cidrs" {
  description = "The only addresses SSH (port 22) is open to, as CIDRs (your office or VPN, for example [\"203.0.113.7/32\"]). The whole internet is refused: use a VPN or a bastion."
  type        = list(string)

  validation {
    condition     = length(var.ssh_allowed_cidrs) > 0
    error_message = "ssh_allowed_cidrs must hold at least one address: with none, nobody can reach SSH to run the Ansible playbook."
  }
  validation {
    condition     = alltrue([for c in var.ssh_allowed_cidrs : can(cidrnetmask(c)) || can(cidrhost(c, 0))])
    error_message = "every entry of ssh_allowed_cidrs must be a CIDR such as 203.0.113.7/32 or 2001:db8::/64."
  }
  validation {
    condition     = alltrue([for c in var.ssh_allowed_cidrs : !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "ssh_allowed_cidrs must not be the whole internet (0.0.0.0/0 or ::/0): name the addresses you administer from."
  }
}

variable "admin_user" {
  description = "The user cloud-init creates for Ansible (sudo without a password, SSH keys only). root cannot log in over SSH."
  type        = string
  default     = "ops"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.admin_user)) && var.admin_user != "root"
    error_message = "admin_user must be a Linux user name (lower-case, at most 32 characters) other than root."
  }
}

variable "volume_size" {
  description = "Size in GB of the volume that holds every Docker volume. The node's worst case on disk is OPS_DISK_BUDGET=50G (opsctl check prints the sum); the default leaves room for growth."
  type        = number
  default     = 100

  validation {
    condition     = var.volume_size >= 60 && var.volume_size <= 10240
    error_message = "volume_size must be between 60 GB (above OPS_DISK_BUDGET=50G) and 10240 GB (Hetzner's maximum)."
  }
}

variable "network_zone" {
  description = "Network zone of the private network: eu-central for fsn1, nbg1 and hel1; us-east for ash; us-west for hil; ap-southeast for sin."
  type        = string
  default     = "eu-central"
}

variable "network_ip_range" {
  description = "IP range of the private network the trading servers join (RFC 1918)."
  type        = string
  default     = "10.42.0.0/16"
}

variable "subnet_ip_range" {
  description = "The servers' subnet inside network_ip_range."
  type        = string
  default     = "10.42.1.0/24"
}

variable "private_ip" {
  description = "The node's address on the private network; the trading servers push to and scrape from it."
  type        = string
  default     = "10.42.1.10"
}

variable "domain" {
  description = "DNS name that points at the server (an A record to the output ipv4_address). The proxy gets its TLS certificate for it from Let's Encrypt; empty leaves the node's URL at its IP address over plain HTTP until you set one."
  type        = string
  default     = ""

  validation {
    condition     = var.domain == "" || can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain))
    error_message = "domain must be a DNS name such as ops.example.com (lower-case, no scheme, no path), or empty."
  }
}

variable "labels" {
  description = "Labels put on every resource of the node."
  type        = map(string)
  default     = {}
}

variable "protect" {
  description = "Delete and rebuild protection of the server and the volume. The volume holds every Docker volume: leave it on outside of experiments."
  type        = bool
  default     = true
}
