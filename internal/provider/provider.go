// Package provider is the Terraform glue of terraform-provider-phoenix: schema,
// plan and state translation. Domain logic lives in internal/phoenix (config
// ingestion) and internal/lifecycle (guests on PVE), the only package this
// one calls to reach PVE.
package provider

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ provider.Provider = &PhoenixProvider{}

// New returns a provider factory for the given version.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &PhoenixProvider{version: version}
	}
}

// PhoenixProvider is the phoenix provider.
type PhoenixProvider struct {
	version string
}

// providerModel is the provider block.
type providerModel struct {
	Endpoint        types.String `tfsdk:"endpoint"`
	APIToken        types.String `tfsdk:"api_token"`
	Username        types.String `tfsdk:"username"`
	Password        types.String `tfsdk:"password"`
	Insecure        types.Bool   `tfsdk:"insecure"`
	CACertificate   types.String `tfsdk:"ca_certificate"`
	Node            types.String `tfsdk:"node"`
	SnippetsStorage types.String `tfsdk:"snippets_storage"`
	SSH             *sshModel    `tfsdk:"ssh"`
}

type sshModel struct {
	Username              types.String `tfsdk:"username"`
	Password              types.String `tfsdk:"password"`
	PrivateKey            types.String `tfsdk:"private_key"`
	Agent                 types.Bool   `tfsdk:"agent"`
	Port                  types.Int64  `tfsdk:"port"`
	NodeAddresses         types.Map    `tfsdk:"node_addresses"`
	KnownHosts            types.String `tfsdk:"known_hosts"`
	HostKey               types.String `tfsdk:"host_key"`
	InsecureIgnoreHostKey types.Bool   `tfsdk:"insecure_ignore_host_key"`
}

// Environment variables the provider reads, the ones Proxmox users know.
const (
	envEndpoint      = "PROXMOX_VE_ENDPOINT"
	envAPIToken      = "PROXMOX_VE_API_TOKEN"
	envUsername      = "PROXMOX_VE_USERNAME"
	envPassword      = "PROXMOX_VE_PASSWORD"
	envInsecure      = "PROXMOX_VE_INSECURE"
	envCACert        = "PROXMOX_VE_CA_CERT"
	envCACertFile    = "PROXMOX_VE_CA_CERT_FILE"
	envNode          = "PROXMOX_VE_NODE"
	envSnippets      = "PROXMOX_VE_SNIPPETS_STORAGE"
	envSSHUsername   = "PROXMOX_VE_SSH_USERNAME"
	envSSHPassword   = "PROXMOX_VE_SSH_PASSWORD"
	envSSHPrivateKey = "PROXMOX_VE_SSH_PRIVATE_KEY"
	envSSHPort       = "PROXMOX_VE_SSH_PORT"
	envSSHHostKey    = "PROXMOX_VE_SSH_HOST_KEY"
	envSSHKnownHosts = "PROXMOX_VE_SSH_KNOWN_HOSTS"
)

func (p *PhoenixProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "phoenix"
	resp.Version = p.version
}

// Long by design: one declarative entry per attribute, read top to bottom.
func (p *PhoenixProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manages a Proxmox VE estate described by phoenix JSON configuration files: " +
			"LXC containers and VMs through the PVE API, feature scripts through `pct exec` over SSH and the QEMU guest agent.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				MarkdownDescription: "PVE API URL, e.g. `https://pve.example.com:8006/`. Env: `" + envEndpoint + "`.",
				Optional:            true,
				Validators:          []validator.String{urlValidator{}},
			},
			"api_token": schema.StringAttribute{
				MarkdownDescription: "API token as `USER@REALM!TOKENID=SECRET`. Env: `" + envAPIToken + "`. " +
					"Operations PVE reserves for `root@pam` (bind mounts, device passthrough, raw feature flags) need `username`/`password` of root@pam instead.",
				Optional:   true,
				Sensitive:  true,
				Validators: []validator.String{stringvalidator.RegexMatches(apiTokenRe, "must look like USER@REALM!TOKENID=SECRET")},
			},
			"username": schema.StringAttribute{
				MarkdownDescription: "User for ticket authentication, e.g. `root@pam`. Env: `" + envUsername + "`.",
				Optional:            true,
			},
			"password": schema.StringAttribute{
				MarkdownDescription: "Password for ticket authentication. Env: `" + envPassword + "`.",
				Optional:            true,
				Sensitive:           true,
			},
			"insecure": schema.BoolAttribute{
				MarkdownDescription: "Skip TLS certificate verification. Off by default; use `ca_certificate` for self-signed certificates instead. When on, every run warns about it. Env: `" + envInsecure + "`.",
				Optional:            true,
			},
			"ca_certificate": schema.StringAttribute{
				MarkdownDescription: "PEM CA certificate (or the path of a PEM file) that signs the PVE API certificate. Env: `" + envCACert + "` (PEM) or `" + envCACertFile + "` (path).",
				Optional:            true,
			},
			"node": schema.StringAttribute{
				MarkdownDescription: "Default node for new guests (default: the only node of a single-node cluster). Env: `" + envNode + "`.",
				Optional:            true,
			},
			"snippets_storage": schema.StringAttribute{
				MarkdownDescription: "Storage with `snippets` content where VM cloud-init user-data snippets are written; default: the first such storage on the node. Env: `" + envSnippets + "`.",
				Optional:            true,
				Validators:          []validator.String{storageRule},
			},
		},
		Blocks: map[string]schema.Block{
			"ssh": schema.SingleNestedBlock{
				MarkdownDescription: "SSH access to the nodes, used for `pct exec`/`pct push` and raw `/etc/pve/lxc/ID.conf` lines. Host keys are verified unless `insecure_ignore_host_key` is set.",
				Attributes: map[string]schema.Attribute{
					"username": schema.StringAttribute{
						MarkdownDescription: "SSH user (default `root`). Env: `" + envSSHUsername + "`.",
						Optional:            true,
					},
					"password": schema.StringAttribute{
						MarkdownDescription: "SSH password. Env: `" + envSSHPassword + "`.",
						Optional:            true,
						Sensitive:           true,
					},
					"private_key": schema.StringAttribute{
						MarkdownDescription: "SSH private key, PEM/OpenSSH text. Env: `" + envSSHPrivateKey + "`.",
						Optional:            true,
						Sensitive:           true,
					},
					"agent": schema.BoolAttribute{
						MarkdownDescription: "Use the SSH agent at `SSH_AUTH_SOCK`.",
						Optional:            true,
					},
					"port": schema.Int64Attribute{
						MarkdownDescription: "SSH port (default 22). Env: `" + envSSHPort + "`.",
						Optional:            true,
						Validators:          []validator.Int64{int64validator.Between(1, 65535)},
					},
					"node_addresses": schema.MapAttribute{
						MarkdownDescription: "Address (`host` or `host:port`) per node name, where the node name does not resolve.",
						Optional:            true,
						ElementType:         types.StringType,
					},
					"known_hosts": schema.StringAttribute{
						MarkdownDescription: "Path of a known_hosts file to verify host keys with (default `~/.ssh/known_hosts`). Env: `" + envSSHKnownHosts + "`.",
						Optional:            true,
					},
					"host_key": schema.StringAttribute{
						MarkdownDescription: "Expected host public key in authorized_keys format, for every node. Env: `" + envSSHHostKey + "`.",
						Optional:            true,
					},
					"insecure_ignore_host_key": schema.BoolAttribute{
						MarkdownDescription: "Accept any host key. Explicit opt-out of host key verification; never the default. When on, every run warns about it.",
						Optional:            true,
					},
				},
			},
		},
	}
}

func (p *PhoenixProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// An attribute set from a value only known after apply cannot configure
	// the client now; it is never replaced by its environment variable.
	for _, u := range unknownAttributes(m) {
		fix := "Apply that resource first (terraform apply -target=...) or set the value statically"
		if u.env != "" {
			fix += ", or unset it and use the " + u.env + " environment variable"
		}
		resp.Diagnostics.AddAttributeError(u.path, "Unable to configure the phoenix provider: unknown "+u.what,
			"The provider cannot create the PVE client because "+u.path.String()+" is unknown until another resource is applied. "+fix+".")
	}
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, err := resolveConfig(m, os.Getenv)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root(err.attr), "Unable to configure the phoenix provider", err.msg)
		return
	}
	// An opted-out check is said once per run: Terraform configures the
	// provider once per command.
	if cfg.Insecure {
		resp.Diagnostics.AddAttributeWarning(path.Root("insecure"), "TLS certificate verification is off",
			"insecure = true (or PROXMOX_VE_INSECURE): the PVE API's certificate is not verified, so anyone between Terraform and PVE can read the "+
				"credentials and change what is applied. Give the host's CA instead (ca_certificate, PROXMOX_VE_CA_CERT_FILE: /etc/pve/pve-root-ca.pem).")
	}
	if cfg.SSH.InsecureIgnoreHostKey {
		resp.Diagnostics.AddAttributeWarning(path.Root("ssh").AtName("insecure_ignore_host_key"), "SSH host key verification is off",
			"ssh.insecure_ignore_host_key = true: any host key is accepted, so anyone between Terraform and the nodes can run the feature scripts' "+
				"commands as root. Pin the nodes' keys instead (ssh.host_key or ssh.known_hosts).")
	}
	resp.DataSourceData = cfg
	resp.ResourceData = cfg
}

func (p *PhoenixProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewGuestResource}
}

func (p *PhoenixProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{NewConfigDataSource}
}

// ProviderConfig is the resolved provider configuration handed to resources.
type ProviderConfig struct {
	Endpoint      string
	APIToken      string
	Username      string
	Password      string
	Insecure      bool
	CACertificate string // PEM
	Node          string
	// SnippetsStorage is where VM cloud-init user-data snippets go ("" :
	// the first storage with snippets content on the node).
	SnippetsStorage string
	SSH             SSHConfig

	conn   connection
	builds *buildRegistry
}

// SSHConfig is the resolved ssh block.
type SSHConfig struct {
	Username, Password, PrivateKey string
	Agent                          bool
	Port                           int
	NodeAddresses                  map[string]string
	KnownHosts, HostKey            string
	InsecureIgnoreHostKey          bool
}

type configError struct{ attr, msg string }

// resolveConfig merges the provider block with the environment: attributes
// win, environment variables fill what is unset.
// Long by design: one setting after another, each from its attribute or its PROXMOX_VE_* variable.
func resolveConfig(m providerModel, getenv func(string) string) (*ProviderConfig, *configError) {
	str := func(v types.String, env string) string {
		if !v.IsNull() && !v.IsUnknown() {
			return v.ValueString()
		}
		if env == "" {
			return ""
		}
		return getenv(env)
	}
	c := &ProviderConfig{
		Endpoint: str(m.Endpoint, envEndpoint),
		APIToken: str(m.APIToken, envAPIToken),
		Username: str(m.Username, envUsername),
		Password: str(m.Password, envPassword),
		Node:     str(m.Node, envNode),
		builds:   newBuildRegistry(),
		SSH:      SSHConfig{Username: getenv(envSSHUsername), Password: getenv(envSSHPassword), PrivateKey: getenv(envSSHPrivateKey), Port: 22},
	}
	if !m.Insecure.IsNull() && !m.Insecure.IsUnknown() {
		c.Insecure = m.Insecure.ValueBool()
	} else if v := getenv(envInsecure); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, &configError{"insecure", envInsecure + " must be true or false, got " + strconv.Quote(v)}
		}
		c.Insecure = b
	}
	if c.Endpoint != "" {
		if msg := checkURL(c.Endpoint); msg != "" {
			return nil, &configError{"endpoint", msg}
		}
	}
	if c.APIToken != "" && !apiTokenRe.MatchString(c.APIToken) {
		return nil, &configError{"api_token", "the API token (from " + envAPIToken + " or api_token) must look like USER@REALM!TOKENID=SECRET"}
	}
	ca := str(m.CACertificate, envCACert)
	if ca == "" && getenv(envCACertFile) != "" {
		ca = getenv(envCACertFile)
	}
	if ca != "" && !strings.Contains(ca, "-----BEGIN") {
		data, err := os.ReadFile(ca)
		if err != nil {
			return nil, &configError{"ca_certificate", "ca_certificate is neither PEM text nor a readable file: " + err.Error()}
		}
		ca = string(data)
	}
	c.CACertificate = ca
	c.SnippetsStorage = str(m.SnippetsStorage, envSnippets)
	if c.SnippetsStorage != "" && !validStorageID(c.SnippetsStorage) {
		return nil, &configError{"snippets_storage", "the snippets storage (from " + envSnippets + " or snippets_storage) must be a PVE storage ID, got " + strconv.Quote(c.SnippetsStorage)}
	}
	if port := getenv(envSSHPort); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, &configError{"ssh", envSSHPort + " must be a port number, got " + strconv.Quote(port)}
		}
		c.SSH.Port = n
	}
	c.SSH.KnownHosts = getenv(envSSHKnownHosts)
	c.SSH.HostKey = getenv(envSSHHostKey)
	if s := m.SSH; s != nil {
		c.SSH.Username = str(s.Username, envSSHUsername)
		c.SSH.Password = str(s.Password, envSSHPassword)
		c.SSH.PrivateKey = str(s.PrivateKey, envSSHPrivateKey)
		c.SSH.Agent = s.Agent.ValueBool()
		if !s.Port.IsNull() && !s.Port.IsUnknown() {
			c.SSH.Port = int(s.Port.ValueInt64())
		}
		if !s.NodeAddresses.IsNull() && !s.NodeAddresses.IsUnknown() {
			c.SSH.NodeAddresses = map[string]string{}
			for k, v := range s.NodeAddresses.Elements() {
				if sv, ok := v.(types.String); ok {
					c.SSH.NodeAddresses[k] = sv.ValueString()
				}
			}
		}
		c.SSH.KnownHosts = str(s.KnownHosts, envSSHKnownHosts)
		c.SSH.HostKey = str(s.HostKey, envSSHHostKey)
		c.SSH.InsecureIgnoreHostKey = s.InsecureIgnoreHostKey.ValueBool()
	}
	if c.SSH.Username == "" {
		c.SSH.Username = "root"
	}
	return c, nil
}

func checkURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "endpoint must be an http(s) URL such as https://pve.example.com:8006/, got " + strconv.Quote(s)
	}
	return ""
}

type unknownAttr struct {
	path      path.Path
	what, env string
}

// unknownAttributes lists the provider attributes whose value is unknown at
// plan time.
func unknownAttributes(m providerModel) []unknownAttr {
	var out []unknownAttr
	add := func(v interface{ IsUnknown() bool }, p path.Path, what, env string) {
		if v.IsUnknown() {
			out = append(out, unknownAttr{p, what, env})
		}
	}
	add(m.Endpoint, path.Root("endpoint"), "PVE API endpoint", envEndpoint)
	add(m.APIToken, path.Root("api_token"), "PVE API token", envAPIToken)
	add(m.Username, path.Root("username"), "PVE username", envUsername)
	add(m.Password, path.Root("password"), "PVE password", envPassword)
	add(m.Insecure, path.Root("insecure"), "TLS setting", envInsecure)
	add(m.CACertificate, path.Root("ca_certificate"), "CA certificate", envCACert)
	add(m.Node, path.Root("node"), "node", envNode)
	add(m.SnippetsStorage, path.Root("snippets_storage"), "snippets storage", envSnippets)
	if s := m.SSH; s != nil {
		ssh := path.Root("ssh")
		add(s.Username, ssh.AtName("username"), "SSH username", envSSHUsername)
		add(s.Password, ssh.AtName("password"), "SSH password", envSSHPassword)
		add(s.PrivateKey, ssh.AtName("private_key"), "SSH private key", envSSHPrivateKey)
		add(s.Port, ssh.AtName("port"), "SSH port", envSSHPort)
		add(s.KnownHosts, ssh.AtName("known_hosts"), "known_hosts path", envSSHKnownHosts)
		add(s.HostKey, ssh.AtName("host_key"), "SSH host key", envSSHHostKey)
		add(s.Agent, ssh.AtName("agent"), "SSH agent setting", "")
		add(s.NodeAddresses, ssh.AtName("node_addresses"), "node addresses", "")
		add(s.InsecureIgnoreHostKey, ssh.AtName("insecure_ignore_host_key"), "host key setting", "")
	}
	return out
}
