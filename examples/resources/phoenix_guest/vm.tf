# A VM template from a cloud image, provisioned through the QEMU guest agent
# (installed by the generated cloud-init user-data), then a clone of it with
# its own address. The provider needs SSH (ssh block) to write the cloud-init
# snippet, and a storage with snippets content.
resource "phoenix_guest" "template" {
  spec = {
    vmid           = 8000
    kind           = "vm"
    name           = "ubuntu-2404-cloud-template"
    os_type        = "ubuntu"
    is_template    = true
    cores          = 2
    memory_mb      = 4096
    disk_size_gb   = 32
    storage        = "local-lvm"
    template_image = "noble-server-cloudimg-amd64.img"
    network        = { bridge = "vmbr0", ip = "dhcp" }
    cloud_init = {
      username            = "phoenix_user"
      ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExampleExample phoenix@example"]
      packages            = ["qemu-guest-agent"]
    }
    features = [
      { name = "base_setup", path = "${path.module}/bin/vm_features/feature_install_base_setup.sh" },
    ]
  }
}

resource "phoenix_guest" "docker_vm" {
  spec = {
    vmid         = 8001
    kind         = "vm"
    name         = "docker-vm-01"
    clone_from   = 8000
    storage      = "local-lvm"
    cores        = 4
    memory_mb    = 8192
    disk_size_gb = 100
    network      = { bridge = "vmbr0", ip = "10.0.0.101/24", gateway = "10.0.0.1", nameservers = ["10.0.0.1"] }
    cloud_init   = { username = "phoenix_user" }
    features = [
      { name = "docker", path = "${path.module}/bin/vm_features/feature_install_docker.sh" },
    ]
  }
  depends_on = [phoenix_guest.template]
}
