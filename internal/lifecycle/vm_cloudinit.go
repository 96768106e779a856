package lifecycle

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/guestconf"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// vmCloudInit is where a VM's generated user-data goes, when it needs one.
type vmCloudInit struct {
	guestconf.VMSettings
	// Path is the snippet's file on the node ("" without a snippet).
	Path string
	// written says this apply wrote the snippet already (before creating
	// the VM from its image), so converging need not compare it again.
	written bool
}

// vmSettings finds the snippets storage a VM's user-data goes to (PVE has no
// API upload for snippets: they are written over SSH), when the VM needs
// user-data PVE's native keys cannot express.
func vmSettings(ctx context.Context, env Env, node string, g *phoenix.Guest) (vmCloudInit, error) {
	if !guestconf.NeedsUserData(g) {
		return vmCloudInit{}, nil
	}
	why := fmt.Sprintf("VM %d needs a cloud-init user-data snippet to install %s", g.ID, strings.Join(guestconf.UserDataPackages(g), ", "))
	if env.Shell == nil {
		return vmCloudInit{}, fmt.Errorf("%s, written over SSH: %w", why, ErrNeedsSSH)
	}
	st, err := SnippetsStorage(ctx, env, node)
	if err != nil {
		return vmCloudInit{}, fmt.Errorf("%s: %w", why, err)
	}
	name := guestconf.SnippetName(g.ID)
	return vmCloudInit{VMSettings: guestconf.VMSettings{CICustom: "user=" + st.ID + ":snippets/" + name},
		Path: path.Join(st.Path, "snippets", name)}, nil
}

// SnippetsStorage is the storage VM user-data snippets are written to on
// node: the configured one, else the first storage with snippets content and
// a path (a directory, NFS or CIFS storage).
func SnippetsStorage(ctx context.Context, env Env, node string) (pve.StorageInfo, error) {
	fix := "enable snippets on a directory storage (pvesm set local --content iso,vztmpl,backup,import,snippets) or set the provider's snippets_storage"
	if env.SnippetsStorage != "" {
		st, err := env.API.Storage(ctx, env.SnippetsStorage)
		if err != nil {
			return st, fmt.Errorf("snippets_storage %q: %w", env.SnippetsStorage, err)
		}
		if !st.HasContent("snippets") || st.Path == "" {
			return st, fmt.Errorf("snippets_storage %q is not a directory storage with snippets content (it has %q): pvesm set %s --content %s",
				st.ID, strings.Join(st.Content, ","), st.ID, strings.Join(append(st.Content, "snippets"), ","))
		}
		return st, nil
	}
	list, err := env.API.Storages(ctx, node, "snippets")
	if err != nil {
		return pve.StorageInfo{}, err
	}
	for _, s := range list {
		st, err := env.API.Storage(ctx, s.ID)
		if err != nil {
			return st, err
		}
		if st.Path != "" {
			return st, nil
		}
	}
	return pve.StorageInfo{}, fmt.Errorf("node %s has no storage with snippets content: %s", node, fix)
}

// writeUserData writes the VM's user-data snippet when it needs one.
func writeUserData(ctx context.Context, env Env, node string, g *phoenix.Guest, ci vmCloudInit) error {
	if ci.Path == "" {
		return nil
	}
	env.logf("VM %d: writing cloud-init user-data to %s on %s", g.ID, ci.Path, node)
	// Readable by root only: it may hold the user's password hash.
	if err := env.Shell.WriteNodeFile(ctx, node, ci.Path, guestconf.UserData(g), 0o600); err != nil {
		return fmt.Errorf("VM %d: writing its cloud-init user-data snippet: %w", g.ID, err)
	}
	return nil
}

// writeUserDataIfChanged writes the snippet unless the node has it already,
// and says whether it changed.
func writeUserDataIfChanged(ctx context.Context, env Env, node string, g *phoenix.Guest, ci vmCloudInit) (bool, error) {
	var have bytes.Buffer
	res, err := env.Shell.Run(ctx, node, "cat "+pve.ShellQuote(ci.Path)+" 2>/dev/null", nil, &have, nil)
	if err == nil && res.ExitCode == 0 && bytes.Equal(have.Bytes(), guestconf.UserData(g)) {
		return false, nil
	}
	return true, writeUserData(ctx, env, node, g, ci)
}

// removeUserData deletes a destroyed VM's own snippet; a failure is only
// logged, since the VM is gone either way.
func removeUserData(ctx context.Context, env Env, ref pve.Ref, cicustom string) {
	name := guestconf.SnippetName(ref.ID)
	var volid string
	for _, part := range strings.Split(cicustom, ",") {
		if v, ok := strings.CutPrefix(part, "user="); ok {
			volid = v
		}
	}
	sid, vol, _ := strings.Cut(volid, ":")
	if env.Shell == nil || vol != "snippets/"+name {
		return
	}
	st, err := env.API.Storage(ctx, sid)
	if err != nil || st.Path == "" {
		return
	}
	p := path.Join(st.Path, "snippets", name)
	if res, err := env.Shell.Run(ctx, ref.Node, "rm -f "+pve.ShellQuote(p), nil, nil, nil); err != nil || res.ExitCode != 0 {
		env.logf("%s: could not remove %s: %v", ref, p, err)
	}
}

// imageMatches reports whether volume file name is image img: the same name,
// or on import storage the same stem as .qcow2/.raw, since PVE keeps import
// files only under those extensions (Ubuntu's .img cloud images are qcow2).
func imageMatches(name, img, content string) bool {
	if name == img {
		return true
	}
	stem := strings.TrimSuffix(img, path.Ext(img))
	return content == "import" && (name == stem+".qcow2" || name == stem+".raw")
}

// resolveImage turns template_image into qm's import-from source: a volume
// ID as given, an absolute path (root@pam only, as PVE allows), or a file
// name looked up on the node's import and ISO storages.
func resolveImage(ctx context.Context, env Env, g *phoenix.Guest) (string, error) {
	img := g.TemplateImage
	rootFix := "log in as root@pam with a password, or put a copy in a storage with import content as .qcow2/.raw " +
		"(e.g. /var/lib/vz/import/" + strings.TrimSuffix(path.Base(img), path.Ext(img)) + ".qcow2) and name that file"
	switch {
	case img == "":
		return "", fmt.Errorf("VM %d has neither template_image nor clone_from", g.ID)
	case strings.HasPrefix(img, "/"):
		if !env.API.IsRootTicket() {
			return "", fmt.Errorf("VM %d: template_image %s is a path on the node, which PVE imports only for root@pam: %s", g.ID, img, rootFix)
		}
		return img, nil
	case strings.Contains(img, ":"):
		return img, nil
	}
	var looked []string
	for _, ct := range []string{"import", "iso"} {
		stores, err := env.API.Storages(ctx, env.Node, ct)
		if err != nil {
			return "", err
		}
		for _, s := range stores {
			vols, err := env.API.StorageContent(ctx, env.Node, s.ID, ct)
			if err != nil {
				return "", err
			}
			looked = append(looked, s.ID+":"+ct)
			for _, v := range vols {
				if !imageMatches(path.Base(v.VolID), img, ct) {
					continue
				}
				if ct == "import" {
					return v.VolID, nil
				}
				// PVE imports from ISO content only by path, as root@pam.
				if !env.API.IsRootTicket() {
					return "", fmt.Errorf("VM %d: template_image %s is ISO content (%s), from which PVE imports disks only by path, for root@pam: %s", g.ID, img, v.VolID, rootFix)
				}
				st, err := env.API.Storage(ctx, s.ID)
				if err != nil {
					return "", err
				}
				if st.Path == "" {
					return "", fmt.Errorf("VM %d: template_image %s is on %s, which has no path to import it from", g.ID, img, s.ID)
				}
				return path.Join(st.Path, "template", "iso", img), nil
			}
		}
	}
	return "", fmt.Errorf("VM %d: template_image %q is on none of node %s's import or ISO storages (looked at %s): upload it, or give a volume ID (storage:import/file) or an absolute path",
		g.ID, img, env.Node, strings.Join(looked, ", "))
}

// CheckVMPlan reports, before any change, what would stop g's creation on
// node for want of the environment: a VM that needs a cloud-init user-data
// snippet needs SSH and a snippets storage. It is nil for other guests.
func CheckVMPlan(ctx context.Context, env Env, g *phoenix.Guest) error {
	if !guestconf.NeedsUserData(g) {
		return nil
	}
	_, err := vmSettings(ctx, env, env.Node, g)
	return err
}
