# A container written by hand: an OS template, resources, network, a data
# volume, firewall rules and two feature scripts run through `pct exec`.
resource "phoenix_guest" "web" {
  spec = {
    vmid                   = 953
    kind                   = "lxc"
    name                   = "edge-nginx"
    cores                  = 2
    memory_mb              = 2048
    disk_size_gb           = 16
    storage                = "local-lvm"
    os_template            = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
    unprivileged           = true
    start_at_boot          = true
    boot_order             = 1
    pct_options            = ["nesting=1"]
    template_snapshot_name = "provisioned"
    network = {
      name    = "eth0"
      bridge  = "vmbr0"
      ip      = "10.0.0.153/24"
      gateway = "10.0.0.1"
    }
    mount_points = [
      { type = "volume", name = "www", storage = "local-lvm", size_gb = 4, path = "/srv/www" },
    ]
    firewall = {
      enabled = true
      rules   = [{ type = "in", action = "ACCEPT", proto = "tcp", port = "443" }]
    }
    features = [
      { name = "base_setup", path = "${path.module}/bin/lxc_setup/phoenix_hypervisor_feature_install_base_setup.sh" },
      { name = "nginx", content = <<-EOT
          #!/bin/bash
          set -e
          echo "installing nginx for $PHOENIX_GUEST_NAME"
        EOT
      },
    ]
  }
}
