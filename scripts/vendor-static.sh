#!/usr/bin/env bash
# Vendor front-end assets from the npm registry at pinned versions, so pages never load a CDN.
# Needs Node/npm only when the pinned versions change; CI and `make run` use the committed files.
set -euo pipefail
cd "$(dirname "$0")/.."
BOOTSTRAP=5.3.9
# The full build: the smaller ones (common/simple) lack charts and layouts later pages need.
ECHARTS=6.1.0
dest=static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Bootstrap (the .map files too, or ManifestStaticFilesStorage fails on the references)
mkdir -p "$tmp/bootstrap"
(cd "$tmp/bootstrap" && npm pack --silent "bootstrap@${BOOTSTRAP}" >/dev/null && tar xzf bootstrap-*.tgz)
mkdir -p "$dest/bootstrap"
for f in css/bootstrap.min.css css/bootstrap.min.css.map js/bootstrap.bundle.min.js js/bootstrap.bundle.min.js.map; do
  cp "$tmp/bootstrap/package/dist/$f" "$dest/bootstrap/$(basename "$f")"
done
cp "$tmp/bootstrap/package/LICENSE" "$dest/bootstrap/LICENSE"

# Apache ECharts (Apache-2.0: LICENSE and NOTICE travel with it; d3 parts are BSD-3-Clause)
mkdir -p "$tmp/echarts"
(cd "$tmp/echarts" && npm pack --silent "echarts@${ECHARTS}" >/dev/null && tar xzf echarts-*.tgz)
mkdir -p "$dest/echarts"
cp "$tmp/echarts/package/dist/echarts.min.js" "$dest/echarts/echarts.min.js"
cp "$tmp/echarts/package/LICENSE" "$dest/echarts/LICENSE"
cp "$tmp/echarts/package/NOTICE" "$dest/echarts/NOTICE"
cp "$tmp/echarts/package/licenses/LICENSE-d3" "$dest/echarts/LICENSE-d3"

printf '%s\n' "bootstrap@${BOOTSTRAP}" "echarts@${ECHARTS}" > "$dest/VERSIONS"
(cd "$dest" && find . -type f ! -name SHA256SUMS ! -name VERSIONS | sort | xargs sha256sum > SHA256SUMS)
echo "vendored into $dest:"; cat "$dest/VERSIONS"
