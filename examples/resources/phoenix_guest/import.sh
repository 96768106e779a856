# A guest is imported by its ID (or node/ID). A guest created by this provider
# is restored from its PVE description; any other guest from what PVE can tell.
# Either way the next plan is empty or in place only: what import cannot
# restore (template, clone source, inline scripts) never replaces the guest.
terraform import phoenix_guest.web 953
terraform import phoenix_guest.web pve1/953
