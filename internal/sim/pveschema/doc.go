// Package pveschema validates PVE 9.1 API requests exactly as PVE does and
// parses and prints PVE property strings.
//
// The parameter facts of every endpoint the simulator serves (ServedPaths)
// are generated from the official API schema into
// zz_generated_endpoints.go (go generate; the schema itself lives outside
// the repository in ../shared). Validation reproduces pve-common's
// JSONSchema.pm: check_prop/check_type/check_object order and messages,
// parse_property_string for property-string parameters (net0, rootfs,
// mp0, scsi0, ipconfig0, features, agent ...) and the named code formats
// (pve-vmid, pve-node, mac-addr, CIDR, pve-configid-list ...).
//
// Use:
//
//	e, ok := pveschema.Lookup("PUT", "/nodes/{node}/lxc/{vmid}/config")
//	v := pveschema.ValuesFromForm(form) // or ValuesFromJSON(body); add path variables
//	if errs := e.Validate(v); len(errs) > 0 {
//		// 400 "Parameter verification failed." with errs as "errors"
//	}
//	p, _ := e.ParamFor("net0")                 // the "net[n]" parameter
//	m, err := pveschema.ParsePropertyAt(p, "net0", v.Get("net0"))
//	s := pveschema.FormatProperty(p, m)        // PVE's canonical order
//
// API:
//   - Values: request parameters; ValuesFromForm and ValuesFromJSON build
//     them the way pve-http-server decodes bodies.
//   - Lookup, Templates, Generated: the generated table. LoadSchemaFile:
//     the full official schema, with the same Lookup/Templates/Endpoints.
//   - PermissionOf: each served endpoint's `permissions` (user world/all,
//     or a check expression: perm with any and require_param, and, or),
//     generated into zz_generated_permissions.go.
//   - Endpoint.Validate: the "errors" map of PVE's 400 response.
//   - Endpoint.ParamFor: resolves "net3" to "net[n]" within PVE's index
//     range (net0..net31, scsi0..scsi30, mp0..mp255 ...).
//   - ParseProperty, ParsePropertyAt, FormatProperty: property strings
//     (PropertyError carries PVE's exception text).
//   - ParseBoolean, ParseSize, FormatSize, ParseStartupOrder: pve-common's
//     helpers of the same names.
//
// The parameter table is shared and read-only: do not modify Params.
//
// Not reproduced: firewall spec formats, privilege names and directory
// overrides are accepted unchecked; validators attached to named formats
// (pve-vm-cpu-conf, prune-backups) are not run; a JSON array of one element
// for a scalar parameter is taken as the scalar (Values cannot tell them
// apart), where PVE reports "got ARRAY".
package pveschema
