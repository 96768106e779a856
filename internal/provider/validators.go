package provider

import (
	"context"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// apiTokenRe is PVE's API token form: USER@REALM!TOKENID=SECRET.
var apiTokenRe = regexp.MustCompile(`^[^@\s!=]+@[^@\s!=]+![A-Za-z][A-Za-z0-9._-]*=\S+$`)

// urlValidator checks an http(s) URL with a host.
type urlValidator struct{}

func (urlValidator) Description(context.Context) string { return "must be an http(s) URL with a host" }
func (v urlValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (urlValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if msg := checkURL(req.ConfigValue.ValueString()); msg != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid provider endpoint", msg)
	}
}
