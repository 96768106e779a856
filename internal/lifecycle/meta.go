package lifecycle

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// A guest created by this provider records itself in its PVE description from
// the moment it exists: its ID and kind, whether its build finished, the
// creation-only inputs it was built with, the digests of the scripts that ran,
// and the caller's record (what `terraform import` needs). This is what lets
// an apply killed midway, or a guest built on demand for another one, be
// adopted instead of refused or duplicated. Anyone with audit rights reads
// descriptions: callers put digests in the record, never script contents,
// extra_json values or passwords.

// metaPrefix starts the metadata line; the version changes with its format.
const metaPrefix = "phoenix-meta:v2:"

// maxDescription is PVE's limit for a guest description (maxLength 8192 in
// pve-container's and qemu-server's schema).
const maxDescription = 8192

const metaHeader = "Managed by Terraform (phoenix_guest); the line below records how it was built, for adoption and import.\n"

// Metadata is what a guest's description records.
type Metadata struct {
	ID   int          `json:"id"`
	Kind phoenix.Kind `json:"kind"`
	// Ready is false from creation until provisioning, the template snapshot
	// and the template conversion are done.
	Ready  bool   `json:"ready"`
	Origin Origin `json:"origin"`
	// Provisioned is the digest of every script that ran successfully.
	Provisioned map[string]string `json:"provisioned,omitempty"`
	// Record is the caller's own record, opaque here (a JSON value).
	Record json.RawMessage `json:"record,omitempty"`
}

// Origin is the creation-only inputs of a guest: what cannot change without
// building it again.
type Origin struct {
	Template      string `json:"template,omitempty"`
	OSTemplate    string `json:"os_template,omitempty"`
	TemplateImage string `json:"template_image,omitempty"`
	CloneFrom     *int   `json:"clone_from,omitempty"`
	CloneSnapshot string `json:"clone_snapshot,omitempty"`
	Storage       string `json:"storage,omitempty"`
	Unprivileged  *bool  `json:"unprivileged,omitempty"`
}

// OriginOf is g's creation-only inputs.
func OriginOf(g *phoenix.Guest) Origin {
	o := Origin{Template: g.Template, OSTemplate: g.OSTemplate, TemplateImage: g.TemplateImage,
		CloneSnapshot: g.CloneSnapshot, Storage: g.Storage}
	if g.CloneFrom != nil {
		id := *g.CloneFrom
		o.CloneFrom = &id
	}
	if g.Unprivileged != nil {
		u := *g.Unprivileged
		o.Unprivileged = &u
	}
	return o
}

// Differences names, for each creation-only input the spec sets, how it
// differs from what the guest was built with. Inputs the spec leaves unset
// are not compared: the spec does not care about them.
func (built Origin) Differences(spec Origin) []string {
	var out []string
	str := func(name, have, want string) {
		if want != "" && have != want {
			out = append(out, fmt.Sprintf("%s: built with %s, the spec says %q", name, quoteOrNone(have), want))
		}
	}
	switch {
	case spec.CloneFrom != nil && built.CloneFrom == nil:
		out = append(out, fmt.Sprintf("clone_from: built from a template, the spec clones %d", *spec.CloneFrom))
	case spec.CloneFrom == nil && built.CloneFrom != nil:
		out = append(out, fmt.Sprintf("clone_from: built as a clone of %d, the spec creates it from a template", *built.CloneFrom))
	case spec.CloneFrom != nil && *spec.CloneFrom != *built.CloneFrom:
		out = append(out, fmt.Sprintf("clone_from: built as a clone of %d, the spec clones %d", *built.CloneFrom, *spec.CloneFrom))
	}
	if built.CloneFrom != nil || spec.CloneFrom != nil {
		str("clone_snapshot", built.CloneSnapshot, spec.CloneSnapshot)
	} else {
		str("template", built.Template, spec.Template)
		str("os_template", built.OSTemplate, spec.OSTemplate)
		str("template_image", built.TemplateImage, spec.TemplateImage)
	}
	str("storage", built.Storage, spec.Storage)
	if spec.Unprivileged != nil && built.Unprivileged != nil && *spec.Unprivileged != *built.Unprivileged {
		out = append(out, fmt.Sprintf("unprivileged: built with %t, the spec says %t", *built.Unprivileged, *spec.Unprivileged))
	}
	return out
}

func quoteOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return strconv.Quote(s)
}

// ErrDescriptionTooLarge is returned when the metadata does not fit PVE's
// description limit; callers shrink the record and try again.
var ErrDescriptionTooLarge = errors.New("the metadata does not fit PVE's 8 KiB description limit")

// Description renders m as a guest description: a human line, then the
// metadata as one line of gzip-compressed, base64-encoded JSON.
func (m Metadata) Description() (string, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(raw)
	if err := zw.Close(); err != nil {
		return "", err
	}
	desc := metaHeader + metaPrefix + base64.StdEncoding.EncodeToString(buf.Bytes())
	if len(desc) > maxDescription {
		return "", ErrDescriptionTooLarge
	}
	return desc, nil
}

// ParseDescription reads the metadata of a description: nil without error
// when it carries none (a guest this provider did not create), an error
// when a metadata line is there but cannot be read.
func ParseDescription(desc string) (*Metadata, error) {
	i := strings.LastIndex(desc, "phoenix-meta:")
	if i < 0 {
		return nil, nil
	}
	line := strings.TrimSpace(strings.SplitN(desc[i:], "\n", 2)[0])
	enc, ok := strings.CutPrefix(line, metaPrefix)
	if !ok {
		return nil, fmt.Errorf("unsupported metadata version %q (this provider reads %s)", strings.SplitN(line, ":", 3)[1], strings.TrimSuffix(metaPrefix, ":"))
	}
	zipped, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("metadata is not base64: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		return nil, fmt.Errorf("metadata is not gzip: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("metadata is truncated: %w", err)
	}
	var m Metadata
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("metadata is not JSON: %w", err)
	}
	if m.ID < 100 || (m.Kind != phoenix.KindLXC && m.Kind != phoenix.KindVM) {
		return nil, fmt.Errorf("metadata names no guest (id %d, kind %q)", m.ID, m.Kind)
	}
	return &m, nil
}

// SetDescription writes a guest's description when it differs.
func SetDescription(ctx context.Context, env Env, ref Ref, desc string) error {
	cfg, err := env.API.Config(ctx, ref)
	if err != nil {
		return err
	}
	if strings.TrimSpace(cfg.Values["description"]) == strings.TrimSpace(desc) {
		return nil
	}
	return env.API.UpdateConfig(ctx, ref, map[string]string{"description": desc}, nil, "")
}
