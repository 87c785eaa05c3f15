#!/usr/bin/env bash
# Installs the fnbatch agent on a compute node and runs it as a system service. cloud-init runs it
# on every scale-set VM (infra/app/node-cloud-init.yaml); it is safe to run again (re-installs the
# package and restarts the service).
#
# Usage: install-agent.sh --package URL|FILE [--env-file FILE] [--root DIR]
#   --package   the fnbatch release package (.zip, or .tar.gz), downloaded when it is a URL
#   --env-file  KEY=VALUE lines from the deployment (FNBATCH_* and AZURE_CLIENT_ID); variables of
#               the same names in this script's environment win over the file
#   --root      install under DIR instead of / (for images and tests): no systemctl, no metadata
#               service, and the service user is added to DIR/etc/passwd
# Environment switches:
#   FNBATCH_SKIP_NODE_INSTALL=1  do not install Node.js (already there, or no network)
#   FNBATCH_SKIP_SYSTEMCTL=1     write the unit but do not enable or start it
#   FNBATCH_NODE_BIN=PATH        the node binary the unit runs (default: the one on PATH)
set -euo pipefail

readonly SERVICE_NAME=fnbatch-agent
readonly SERVICE_USER=fnbatch
readonly NODE_MAJOR=20
readonly REQUIRED_KEYS=(FNBATCH_ENDPOINT FNBATCH_POOL_ID FNBATCH_STORAGE)

log() { printf 'install-agent: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

root=/
package=''
env_file=''
while [[ $# -gt 0 ]]; do
  case "$1" in
    --root) root="${2:?--root needs a directory}"; shift 2 ;;
    --package) package="${2:?--package needs a URL or file}"; shift 2 ;;
    --env-file) env_file="${2:?--env-file needs a file}"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

[[ $(id -u) -eq 0 ]] || die "must run as root (it creates a system user and a service)"
[[ -n "$package" ]] || die "--package is required"
root="$(cd "$root" && pwd)"
[[ "$root" == / ]] && r='' || r="$root"
readonly prefix_rel=/opt/fnbatch
readonly prefix="$r$prefix_rel"

# --- Settings: the deployment's env file, then the environment. Parsed, never sourced, so a value
# can never run as a command.
declare -A settings=()
declare -a order=()
set_setting() {
  local key="$1" value="$2"
  [[ "$value" != *$'\n'* && "$value" != *$'\r'* ]] || die "$key contains a line break"
  [[ -v "settings[$key]" ]] || order+=("$key")
  settings[$key]="$value"
}
accepted_key() { [[ "$1" =~ ^(FNBATCH_[A-Z0-9_]+|AZURE_CLIENT_ID)$ ]]; }
if [[ -n "$env_file" ]]; then
  [[ -r "$env_file" ]] || die "cannot read $env_file"
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%$'\r'}"
    [[ -z "${line//[[:space:]]/}" || "$line" =~ ^[[:space:]]*# ]] && continue
    [[ "$line" == *=* ]] || die "not KEY=VALUE in $env_file: ${line%%=*}"
    key="${line%%=*}"; value="${line#*=}"
    accepted_key "$key" || die "unexpected variable $key in $env_file"
    set_setting "$key" "$value"
  done < "$env_file"
fi
while IFS= read -r key; do
  accepted_key "$key" || continue
  case "$key" in FNBATCH_SKIP_NODE_INSTALL|FNBATCH_SKIP_SYSTEMCTL|FNBATCH_NODE_BIN) continue ;; esac
  set_setting "$key" "${!key}"
done < <(compgen -e)

for key in "${REQUIRED_KEYS[@]}"; do
  [[ -n "${settings[$key]:-}" ]] || die "$key is not set (give it in --env-file or the environment)"
done

# The node id is the VM's name: that is what the control plane names when it deletes a node.
if [[ -z "${settings[FNBATCH_NODE_ID]:-}" ]]; then
  node_id=''
  if [[ -z "$r" ]] && command -v curl >/dev/null; then
    node_id="$(curl -fsS --max-time 5 -H Metadata:true \
      'http://169.254.169.254/metadata/instance/compute/name?api-version=2021-02-01&format=text' 2>/dev/null || true)"
  fi
  set_setting FNBATCH_NODE_ID "${node_id:-$(hostname)}"
fi
[[ -n "${settings[FNBATCH_WORK_DIR]:-}" ]] || set_setting FNBATCH_WORK_DIR /var/lib/fnbatch/work
[[ "${settings[FNBATCH_WORK_DIR]}" == /* ]] || die "FNBATCH_WORK_DIR must be an absolute path"

# --- Node.js
install_node() {
  if command -v node >/dev/null && [[ "$(node -p 'process.versions.node.split(".")[0]')" -ge $NODE_MAJOR ]]; then
    log "Node.js $(node -v) already installed"
    return
  fi
  command -v apt-get >/dev/null || die "no Node.js >= $NODE_MAJOR and no apt-get to install it"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q ca-certificates curl gnupg unzip
  curl -fsSL "https://deb.nodesource.com/setup_${NODE_MAJOR}.x" -o /tmp/nodesource-setup.sh
  bash /tmp/nodesource-setup.sh
  apt-get install -y -q nodejs
  log "installed Node.js $(node -v)"
}
if [[ "${FNBATCH_SKIP_NODE_INSTALL:-0}" == 1 ]]; then
  log "skipping the Node.js install (FNBATCH_SKIP_NODE_INSTALL=1)"
else
  install_node
fi

# --- The release package, unpacked next to the current one and swapped in.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [[ "$package" =~ ^https?:// ]]; then
  log "downloading the release package"
  curl -fsSL --retry 5 --retry-delay 3 -o "$work/package" "$package"
else
  [[ -r "$package" ]] || die "cannot read the package $package"
  cp "$package" "$work/package"
fi
mkdir -p "$work/unpacked"
magic="$(head -c 2 "$work/package" | od -An -tx1 | tr -d ' \n')"
case "$magic" in
  504b)
    if command -v unzip >/dev/null; then unzip -q "$work/package" -d "$work/unpacked"
    elif command -v python3 >/dev/null; then python3 -m zipfile -e "$work/package" "$work/unpacked"
    else die "need unzip or python3 to unpack a .zip package"; fi ;;
  1f8b) tar -xzf "$work/package" -C "$work/unpacked" ;;
  *) die "the package is neither a .zip nor a .tar.gz" ;;
esac
[[ -f "$work/unpacked/bin/fnbatch.js" ]] || die "the package has no bin/fnbatch.js"
mkdir -p "$(dirname "$prefix")"
rm -rf "$prefix.new" "$prefix.old"
cp -a "$work/unpacked" "$prefix.new"
chown -R 0:0 "$prefix.new"
chmod -R u=rwX,go=rX "$prefix.new"
[[ -e "$prefix" ]] && mv "$prefix" "$prefix.old"
mv "$prefix.new" "$prefix"
rm -rf "$prefix.old"
log "unpacked the package to $prefix_rel"

# --- The service user: a system account with no login and no password.
mkdir -p "$r/etc"
if [[ -n "$r" ]]; then
  for f in passwd group shadow gshadow; do [[ -e "$r/etc/$f" ]] || touch "$r/etc/$f"; done
  chmod 0640 "$r/etc/shadow" "$r/etc/gshadow"
fi
if ! grep -q "^$SERVICE_USER:" "$r/etc/passwd" 2>/dev/null; then
  useradd_args=(--system --user-group --no-create-home --home-dir /var/lib/fnbatch --shell /usr/sbin/nologin --comment 'fnbatch agent')
  [[ -n "$r" ]] && useradd_args+=(--prefix "$r")
  useradd "${useradd_args[@]}" "$SERVICE_USER"
  log "created the system user $SERVICE_USER"
fi
uid="$(awk -F: -v u="$SERVICE_USER" '$1 == u { print $3 }' "$r/etc/passwd")"
gid="$(awk -F: -v u="$SERVICE_USER" '$1 == u { print $4 }' "$r/etc/passwd")"
[[ -n "$uid" && -n "$gid" ]] || die "the user $SERVICE_USER has no uid/gid"
mkdir -p "$r/var/lib/fnbatch" "$r${settings[FNBATCH_WORK_DIR]}"
chown "$uid:$gid" "$r/var/lib/fnbatch" "$r${settings[FNBATCH_WORK_DIR]}"
chmod 0750 "$r/var/lib/fnbatch" "$r${settings[FNBATCH_WORK_DIR]}"

# --- The environment file: holds the agent key, so root-only (systemd reads it before dropping
# privileges). Values are double-quoted with systemd's escapes.
quote() { local v="${1//\\/\\\\}"; v="${v//\"/\\\"}"; printf '"%s"' "$v"; }
mkdir -p "$r/etc/fnbatch"
chmod 0755 "$r/etc/fnbatch"
env_tmp="$(mktemp "$r/etc/fnbatch/.agent.env.XXXXXX")"
chmod 0600 "$env_tmp"
{
  echo "# Written by install-agent.sh; the agent's configuration (see AGENT_ENV in shared/agent-protocol.ts)."
  for key in "${order[@]}"; do printf '%s=%s\n' "$key" "$(quote "${settings[$key]}")"; done
} > "$env_tmp"
mv "$env_tmp" "$r/etc/fnbatch/agent.env"

# --- The systemd unit, from the package's copy of the template (so it matches the package).
template="$prefix/agent/install/$SERVICE_NAME.service"
[[ -f "$template" ]] || template="$(dirname "$(readlink -f "$0")")/$SERVICE_NAME.service"
[[ -f "$template" ]] || die "no $SERVICE_NAME.service template in the package or next to this script"
node_bin="${FNBATCH_NODE_BIN:-$(command -v node || echo /usr/bin/node)}"
[[ "$node_bin" == /* ]] || die "FNBATCH_NODE_BIN must be an absolute path"
mkdir -p "$r/etc/systemd/system"
sed -e "s|@NODE@|$node_bin|g" -e "s|@PREFIX@|$prefix_rel|g" -e "s|@USER@|$SERVICE_USER|g" \
  "$template" > "$r/etc/systemd/system/$SERVICE_NAME.service"
chmod 0644 "$r/etc/systemd/system/$SERVICE_NAME.service"
log "wrote /etc/systemd/system/$SERVICE_NAME.service"

if [[ -n "$r" || "${FNBATCH_SKIP_SYSTEMCTL:-0}" == 1 ]] || ! command -v systemctl >/dev/null || [[ ! -d /run/systemd/system ]]; then
  log "not starting the service (installing under a root, FNBATCH_SKIP_SYSTEMCTL=1, or no systemd)"
else
  systemctl daemon-reload
  systemctl enable "$SERVICE_NAME.service"
  systemctl restart "$SERVICE_NAME.service"
  log "started $SERVICE_NAME.service"
fi
