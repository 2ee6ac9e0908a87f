#!/usr/bin/env bash
# Builds (incrementally) and packs every published package (packages/* without
# "private": true) into DEST (default .artifacts/tarballs/), replacing older tarballs
# there; prints each tarball's path. pnpm pack turns `workspace:^` into real versions.
#   bash scripts/pack.sh [DEST]    (./dev pack)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dest="${1:-.artifacts/tarballs}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
node scripts/build.mjs
rm -f "$dest"/*.tgz
for manifest in packages/*/package.json; do
  node -e 'process.exit(require(process.argv[1]).private === true ? 1 : 0)' "./$manifest" || continue
  (cd "$(dirname "$manifest")" && pnpm pack --pack-destination "$dest" >/dev/null)
done
ls "$dest"/*.tgz
