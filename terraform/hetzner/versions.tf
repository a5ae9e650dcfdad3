terraform {
  # OpenTofu 1.6+ and Terraform 1.5+ read this module alike.
  required_version = ">= 1.5.0"

  required_providers {
    hcloud = {
      source = "hetznercloud/hcloud"
      # Pinned exactly, like every image and module of the node; raise it on
      # purpose, after reading the provider's changelog.
      version = "1.68.0"
    }
  }
}

# The token comes from HCLOUD_TOKEN in the environment (the provider reads
# it), so it is never written to a .tfvars file or the state's inputs.
provider "hcloud" {}
