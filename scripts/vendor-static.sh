#!/usr/bin/env bash
# Vendor front-end assets from the npm registry at pinned versions, so pages never load a CDN.
# Needs Node/npm only when the pinned versions change; CI and `make run` use the committed files.
set -euo pipefail
cd "$(dirname "$0")/.."
BOOTSTRAP=5.3.9
dest=static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "bootstrap@${BOOTSTRAP}" >/dev/null && tar xzf bootstrap-*.tgz)
mkdir -p "$dest/bootstrap"
for f in css/bootstrap.min.css css/bootstrap.min.css.map js/bootstrap.bundle.min.js js/bootstrap.bundle.min.js.map; do
  cp "$tmp/package/dist/$f" "$dest/bootstrap/$(basename "$f")"
done
cp "$tmp/package/LICENSE" "$dest/bootstrap/LICENSE"
echo "bootstrap@${BOOTSTRAP}" > "$dest/VERSIONS"
(cd "$dest" && find . -type f ! -name SHA256SUMS ! -name VERSIONS | sort | xargs sha256sum > SHA256SUMS)
echo "vendored into $dest:"; cat "$dest/VERSIONS"
