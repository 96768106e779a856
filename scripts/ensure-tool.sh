#!/usr/bin/env bash
# Prints the path of a pinned build tool, building it on first use from its
# Go module source, fetched through the Go module proxy (GOPROXY), into
# .cache. Nothing is downloaded from anywhere else.
#
#   scripts/ensure-tool.sh terraform       Terraform CLI (acceptance tests, demo, docs)
#   scripts/ensure-tool.sh tofu            OpenTofu CLI (make testacc-tofu)
#   scripts/ensure-tool.sh golangci-lint   linter (make lint)
#   scripts/ensure-tool.sh goreleaser      release config check (make release-check)
#
# Each is built inside its own module directory, so its go.mod (replace
# directives included, which `go install module@version` refuses) decides
# its dependencies, not ours.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

tool=${1:?usage: ensure-tool.sh terraform|tofu|golangci-lint|goreleaser}
ldflags="-s -w"
case $tool in
terraform)
	module=github.com/hashicorp/terraform version=1.5.7 pkg=. took="2 to 4 minutes"
	bin="$root/.cache/tfbin/terraform" override=${TF_ACC_TERRAFORM_PATH:-}
	;;
tofu)
	module=github.com/opentofu/opentofu version=1.12.6 pkg=./cmd/tofu took="3 to 5 minutes"
	bin="$root/.cache/tofubin/tofu" override=${TF_ACC_TOFU_PATH:-}
	ldflags="$ldflags -X github.com/opentofu/opentofu/version.dev=no"
	;;
golangci-lint)
	module=github.com/golangci/golangci-lint/v2 version=2.15.0 pkg=./cmd/golangci-lint took="2 to 4 minutes"
	bin="$root/.cache/tools/golangci-lint-v$version/golangci-lint" override=""
	ldflags="$ldflags -X main.version=$version -X main.date=module-source"
	;;
goreleaser)
	module=github.com/goreleaser/goreleaser/v2 version=2.17.0 pkg=. took="4 to 7 minutes"
	bin="$root/.cache/tools/goreleaser-v$version/goreleaser" override=""
	ldflags="$ldflags -X main.version=$version"
	;;
*)
	echo "ensure-tool.sh: unknown tool '$tool' (want terraform, tofu, golangci-lint or goreleaser)" >&2
	exit 2
	;;
esac

# The Terraform and OpenTofu CLIs report their version; the others are
# versioned by their directory.
version_of() {
	case $tool in
	terraform | tofu) "$1" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p' ;;
	*) [ -x "$1" ] && echo "$version" ;;
	esac
}

for candidate in "$override" "$bin"; do
	if [ -n "$candidate" ] && [ -x "$candidate" ] && [ "$(version_of "$candidate")" = "$version" ]; then
		echo "$candidate"
		exit 0
	fi
done

echo "building $tool v$version from its Go module source ($module, via $(go env GOPROXY | cut -d, -f1)) into ${bin#"$root"/}: first run only, takes $took" >&2
src=$(cd "$root" && go mod download -json "$module@v$version" | sed -n 's/^[[:space:]]*"Dir": *"\([^"]*\)".*/\1/p')
[ -d "$src" ] || {
	echo "ensure-tool.sh: go mod download $module@v$version gave no source directory" >&2
	exit 1
}
mkdir -p "$(dirname "$bin")"
build() { cd "$src" && GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" "$pkg"; }
with_progress "building $tool v$version" "$root/.cache/logs/build-$tool.log" build
mv "$bin.tmp" "$bin"
echo "$bin"
