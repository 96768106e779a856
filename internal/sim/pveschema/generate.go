package pveschema

//go:generate go run ./gen -schema ../../../../shared/pve-api/pve-api-9.1.json -o zz_generated_endpoints.go -perms zz_generated_permissions.go
