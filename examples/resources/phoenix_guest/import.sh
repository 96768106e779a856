# A guest is imported by its ID (or node/ID). Guests created by this provider
# carry their definition in their PVE description, so the next plan is empty.
terraform import phoenix_guest.web 953
terraform import phoenix_guest.web pve1/953
