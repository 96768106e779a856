# Credentials usually come from the environment Proxmox users already know:
# PROXMOX_VE_ENDPOINT, PROXMOX_VE_API_TOKEN (or _USERNAME/_PASSWORD),
# PROXMOX_VE_SSH_USERNAME, PROXMOX_VE_SSH_PRIVATE_KEY...
provider "phoenix" {
  endpoint = "https://pve1.example.com:8006/"
  node     = "pve1"

  ssh {
    username    = "root"
    private_key = file("~/.ssh/id_ed25519")
    known_hosts = pathexpand("~/.ssh/known_hosts")
  }
}
