#!/usr/bin/env bash
# Installs what the end-to-end test needs on a fresh Debian machine with no internet
# beyond the npm registry and Debian's packages:
#   - Debian's Chromium (driven by playwright-core), ripgrep and libkrb5-dev;
#   - code-server 4.100.3 (VS Code 1.100 served over HTTP; the newest that runs on Node 20).
# Desktop VS Code cannot be downloaded here, so @vscode/test-electron is not an option.
# The install is cached outside the work tree ($BPTT_LENS_E2E_CACHE, default
# ~/.cache/bptt-lens/e2e) and skipped when already complete. Prints the code-server dir.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
cache="${BPTT_LENS_E2E_CACHE:-$HOME/.cache/bptt-lens/e2e}"
root="$cache/code-server-$CODE_SERVER_VERSION"
cs="$root/node_modules/code-server"
stamp="$root/.complete"

log() { echo "[e2e-setup] $*" >&2; }

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
fi

if [ -f "$stamp" ]; then
  log "code-server $CODE_SERVER_VERSION already installed in $root"
  echo "$cs"
  exit 0
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" != 20 ]; then
  log "code-server $CODE_SERVER_VERSION needs Node 20 (found $(node --version))"
  exit 1
fi

log "installing code-server $CODE_SERVER_VERSION into $root (about two minutes)"
rm -rf "$root"
mkdir -p "$root"
cd "$root"
echo '{"name":"bptt-lens-e2e-code-server","private":true}' > package.json
export npm_config_unsafe_perm=true npm_config_yes=true npm_config_audit=false npm_config_fund=false
# --ignore-scripts: @vscode/ripgrep's postinstall downloads a binary and fails offline.
npm install --ignore-scripts --no-save "code-server@$CODE_SERVER_VERSION" >&2
npm rebuild argon2 >&2   # hoisted to the top node_modules
cd "$cs/lib/vscode"
npm install --ignore-scripts --omit=dev >&2
npm rebuild node-pty @parcel/watcher @vscode/spdlog kerberos native-watchdog @vscode/deviceid >&2
rm -rf node_modules.asar && ln -s node_modules node_modules.asar
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
(cd bin/remote-cli && ln -sf code-linux.sh code-server)
(cd bin/helpers && ln -sf browser-linux.sh browser.sh)
(cd extensions && npm install --ignore-scripts --omit=dev >&2)
touch "$stamp"
log "done"
echo "$cs"
