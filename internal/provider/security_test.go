package provider

import (
	"context"
	"testing"

	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// Every secret the provider takes is Sensitive, so Terraform masks it in
// plans, output and logs: the provider's password, API token, SSH password
// and private key, and a VM's cloud-init password (in phoenix_guest's spec
// and in phoenix_config's guests).
func TestSecretsAreSensitive(t *testing.T) {
	ctx := context.Background()
	var ps provider.SchemaResponse
	(&PhoenixProvider{}).Schema(ctx, provider.SchemaRequest{}, &ps)
	for _, name := range []string{"password", "api_token"} {
		if a, ok := ps.Schema.Attributes[name].(pschema.StringAttribute); !ok || !a.Sensitive {
			t.Errorf("provider %s is not Sensitive", name)
		}
	}
	sshBlock := ps.Schema.Blocks["ssh"].(pschema.SingleNestedBlock)
	for _, name := range []string{"password", "private_key"} {
		if a, ok := sshBlock.Attributes[name].(pschema.StringAttribute); !ok || !a.Sensitive {
			t.Errorf("provider ssh.%s is not Sensitive", name)
		}
	}
	var rs resource.SchemaResponse
	NewGuestResource().Schema(ctx, resource.SchemaRequest{}, &rs)
	ci := rs.Schema.Attributes["spec"].(rschema.SingleNestedAttribute).Attributes["cloud_init"].(rschema.SingleNestedAttribute)
	if !ci.Attributes["password"].(rschema.StringAttribute).Sensitive {
		t.Error("phoenix_guest spec.cloud_init.password is not Sensitive")
	}
	dci := guestAttributes()["cloud_init"].(dschema.SingleNestedAttribute)
	if !dci.Attributes["password"].(dschema.StringAttribute).Sensitive {
		t.Error("phoenix_config guests' cloud_init.password is not Sensitive")
	}
	// Nothing else is: a Sensitive flag on other attributes would hide
	// plans for no reason.
	var count int
	var walk func(fields []field)
	walk = func(fields []field) {
		for _, f := range fields {
			if f.sensitive {
				count++
			}
			walk(f.children)
		}
	}
	walk(guestFields)
	if count != 1 {
		t.Errorf("%d sensitive spec fields, want 1 (cloud_init.password)", count)
	}
}
