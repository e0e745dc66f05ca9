#!/usr/bin/env bash
# Shared helpers for the gec-ledger network scripts. Sourced, never run: `source "$(dirname "$0")/lib.sh"`.
#
# Layout (all generated, all under network/):
#   organizations/   cryptogen output, the role identities from enroll.sh, wallet/, connection profiles
#   build/           rendered configtx, node config, channel artifacts, ledgers (data/), logs/, pids/, gateway.env

# shellcheck disable=SC2034  # variables here are used by the scripts that source this file

NETWORK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "${NETWORK_DIR}/.." && pwd)"
ORGS_DIR="${NETWORK_DIR}/organizations"
BUILD_DIR="${NETWORK_DIR}/build"
DATA_DIR="${BUILD_DIR}/data"
LOG_DIR="${BUILD_DIR}/logs"
PID_DIR="${BUILD_DIR}/pids"
ARTIFACTS_DIR="${BUILD_DIR}/channel-artifacts"
NODE_CFG_DIR="${BUILD_DIR}/config"
WALLET_DIR="${ORGS_DIR}/wallet"

# network.env, without overriding what the caller already exported.
load_network_env() {
  local line name
  while IFS= read -r line || [[ -n "${line}" ]]; do
    [[ "${line}" =~ ^[[:space:]]*(#|$) ]] && continue
    name="${line%%=*}"
    if [[ -z "${!name+x}" ]]; then
      eval "export ${line}"
    else
      export "${name?}"
    fi
  done <"${NETWORK_DIR}/network.env"
}
load_network_env

log() { printf '\033[0;32m[gec-network]\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[0;33m[gec-network] warning:\033[0m %s\n' "$*" >&2; }
fatal() {
  printf '\033[0;31m[gec-network] error:\033[0m %s\n' "$*" >&2
  exit 1
}

# Put FABRIC_BIN (if set) first on PATH and check that each named binary is there.
require_fabric_binaries() {
  if [[ -n "${FABRIC_BIN:-}" ]]; then
    [[ -d "${FABRIC_BIN}" ]] || fatal "FABRIC_BIN=${FABRIC_BIN} is not a directory"
    PATH="${FABRIC_BIN}:${PATH}"
    export PATH
  fi
  local missing=()
  local bin
  for bin in "$@"; do
    command -v "${bin}" >/dev/null 2>&1 || missing+=("${bin}")
  done
  if ((${#missing[@]} > 0)); then
    fatal "missing Fabric binaries: ${missing[*]}. Install Fabric 2.5 (or 2.4) binaries, e.g.
    curl -sSLO https://raw.githubusercontent.com/hyperledger/fabric/main/scripts/install-fabric.sh
    bash install-fabric.sh --fabric-version 2.5.12 binary
  then export FABRIC_BIN=\$PWD/bin (and FABRIC_CFG=\$PWD/config), or put them on PATH."
  fi
}

require_tools() {
  local tool
  for tool in "$@"; do
    command -v "${tool}" >/dev/null 2>&1 || fatal "'${tool}' is required but not on PATH"
  done
}

# The release's sample config (core.yaml, orderer.yaml): FABRIC_CFG, else <FABRIC_BIN or dir of peer>/../config.
fabric_config_source() {
  local candidate
  if [[ -n "${FABRIC_CFG:-}" ]]; then
    candidate="${FABRIC_CFG}"
  else
    candidate="$(cd "$(dirname "$(command -v peer)")/.." && pwd)/config"
  fi
  [[ -f "${candidate}/core.yaml" && -f "${candidate}/orderer.yaml" ]] ||
    fatal "no core.yaml/orderer.yaml in ${candidate}: set FABRIC_CFG to the 'config' folder of the Fabric release"
  printf '%s\n' "${candidate}"
}

# "2.5.12" from `peer version`.
fabric_version() {
  peer version 2>/dev/null | sed -n 's/^ *Version: *v\{0,1\}\([0-9][0-9.]*\).*/\1/p' | head -n 1
}

check_fabric_version() {
  local version major minor
  version="$(fabric_version)"
  [[ -n "${version}" ]] || fatal "cannot read the version from 'peer version'"
  major="${version%%.*}"
  minor="${version#*.}"
  minor="${minor%%.*}"
  if ((major != 2 || minor < 4)); then
    fatal "Fabric ${version} found; this network needs Fabric 2.4 or 2.5"
  fi
  printf '%s\n' "${version}"
}

# Replace ${NAME} for the given variable names (only those: the rest of the file is left alone).
render_template() {
  local template="$1" output="$2"
  shift 2
  local content name
  content="$(<"${template}")"
  for name in "$@"; do
    [[ -n "${!name+x}" ]] || fatal "render_template: ${name} is not set"
    content="${content//\$\{${name}\}/${!name}}"
  done
  mkdir -p "$(dirname "${output}")"
  printf '%s\n' "${content}" >"${output}"
}

# Organisation short name (grid|trading|regulator) -> facts about it.
org_msp() {
  case "$1" in
    grid) printf '%s\n' "${GRID_MSP}" ;;
    trading) printf '%s\n' "${TRADING_MSP}" ;;
    regulator) printf '%s\n' "${REGULATOR_MSP}" ;;
    *) fatal "unknown organisation '$1' (expected grid, trading or regulator)" ;;
  esac
}
org_domain() {
  case "$1" in
    grid) printf '%s\n' "${GRID_DOMAIN}" ;;
    trading) printf '%s\n' "${TRADING_DOMAIN}" ;;
    regulator) printf '%s\n' "${REGULATOR_DOMAIN}" ;;
    *) fatal "unknown organisation '$1'" ;;
  esac
}
# Prints the value of PEER0_<ORG>_<FIELD> (FIELD: NAME, HOST, PORT, CHAINCODE_PORT, OPERATIONS_PORT).
peer_var() {
  local var
  var="PEER0_$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')_$2"
  [[ -n "${!var+x}" ]] || fatal "${var} is not set in network.env"
  printf '%s\n' "${!var}"
}
peer_dir() {
  printf '%s\n' "${ORGS_DIR}/peerOrganizations/$(org_domain "$1")/peers/$(peer_var "$1" NAME)"
}
peer_tls_ca() {
  printf '%s\n' "$(peer_dir "$1")/tls/ca.crt"
}
orderer_dir() {
  printf '%s\n' "${ORGS_DIR}/ordererOrganizations/${ORDERER_DOMAIN}/orderers/${ORDERER0_NAME}"
}
orderer_tls_ca() {
  printf '%s\n' "$(orderer_dir)/tls/ca.crt"
}

ORGS=(grid trading regulator)

# The Fabric CLI environment of an organisation's admin (the role identity from enroll.sh, OU admin).
set_admin_env() {
  local org="$1" domain
  domain="$(org_domain "${org}")"
  export FABRIC_CFG_PATH="${NODE_CFG_DIR}"
  export CORE_PEER_TLS_ENABLED=true
  export CORE_PEER_LOCALMSPID
  CORE_PEER_LOCALMSPID="$(org_msp "${org}")"
  export CORE_PEER_TLS_ROOTCERT_FILE
  CORE_PEER_TLS_ROOTCERT_FILE="$(peer_tls_ca "${org}")"
  export CORE_PEER_MSPCONFIGPATH="${ORGS_DIR}/peerOrganizations/${domain}/users/admin@${domain}/msp"
  export CORE_PEER_ADDRESS
  CORE_PEER_ADDRESS="$(peer_var "${org}" HOST):$(peer_var "${org}" PORT)"
  # No server-name override: the peer CLI would apply it to every --peerAddresses connection too (a commit
  # reaching the trading center's peer was checked against the grid peer's name). The certificates name
  # 127.0.0.1 and localhost, which is what the addresses use.
  unset CORE_PEER_TLS_SERVERHOSTOVERRIDE
  export ORDERER_ADDRESS="${ORDERER0_HOST}:${ORDERER0_PORT}"
  export ORDERER_CA
  ORDERER_CA="$(orderer_tls_ca)"
  export ORDERER_HOSTNAME="${ORDERER0_NAME}"
}

# Wait until host:port accepts TCP connections (bash /dev/tcp), or fail after $3 seconds.
wait_for_port() {
  local host="$1" port="$2" timeout="${3:-30}" waited=0
  until (exec 3<>"/dev/tcp/${host}/${port}") 2>/dev/null; do
    ((waited++ < timeout * 4)) || return 1
    sleep 0.25
  done
}

# Start a long-running process in the background with its own log and pid file.
start_process() {
  local name="$1"
  shift
  mkdir -p "${LOG_DIR}" "${PID_DIR}"
  if is_running "${name}"; then
    fatal "${name} is already running (pid $(cat "${PID_DIR}/${name}.pid")); run network/scripts/down.sh first"
  fi
  # Appended, never truncated: after a restart the log still shows why the process stopped last time.
  printf '\n=== %s: %s started by %s ===\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${name}" "$(basename "$0")" \
    >>"${LOG_DIR}/${name}.log"
  if command -v setsid >/dev/null 2>&1; then
    setsid "$@" >>"${LOG_DIR}/${name}.log" 2>&1 </dev/null &
  else
    "$@" >>"${LOG_DIR}/${name}.log" 2>&1 </dev/null &
  fi
  printf '%s\n' "$!" >"${PID_DIR}/${name}.pid"
}

is_running() {
  local pid_file="${PID_DIR}/$1.pid"
  [[ -f "${pid_file}" ]] && kill -0 "$(cat "${pid_file}")" 2>/dev/null
}

# Stop a process started by start_process (its process group when setsid was available).
stop_process() {
  local name="$1" pid_file="${PID_DIR}/$1.pid" pid waited=0
  [[ -f "${pid_file}" ]] || return 0
  pid="$(cat "${pid_file}")"
  if kill -0 "${pid}" 2>/dev/null; then
    log "stopping ${name} (pid ${pid})"
    kill -TERM -- "-${pid}" 2>/dev/null || kill -TERM "${pid}" 2>/dev/null || true
    while kill -0 "${pid}" 2>/dev/null && ((waited++ < 40)); do sleep 0.25; done
    if kill -0 "${pid}" 2>/dev/null; then
      kill -KILL -- "-${pid}" 2>/dev/null || kill -KILL "${pid}" 2>/dev/null || true
    fi
  fi
  rm -f "${pid_file}"
}

# ---- chaincode servers (chaincode as a service, native) ---------------------------------------------
# Each package has its own server: `chaincode-<port>`, on CHAINCODE_PORT or CHAINCODE_PORT + 1 (blue/green).
# An upgrade starts the new package's server on the port the live one does not use, commits, waits until every
# peer runs the new definition, and only then stops the old server: a peer still finishing a transaction on the
# old package reaches it meanwhile. build/ccaas/live records the committed package (id and port) for up.sh.
CC_DIR="${BUILD_DIR}/ccaas"
CC_TLS_DIR="${CC_DIR}/tls"
CC_LIVE_FILE="${CC_DIR}/live"

# Start the chaincode server of package $1 on port $2 and wait until it listens.
start_chaincode_server() {
  local package_id="$1" port="$2"
  log "starting the chaincode server of ${package_id%%:*} on ${GEC_LISTEN_ADDRESS}:${port}"
  (
    cd "${REPO_ROOT}"
    start_process "chaincode-${port}" env \
      CHAINCODE_SERVER_ADDRESS="${GEC_LISTEN_ADDRESS}:${port}" \
      CHAINCODE_ID="${package_id}" \
      CORE_CHAINCODE_TLS_CERT_FILE="${CC_TLS_DIR}/server.crt" \
      CORE_CHAINCODE_TLS_KEY_FILE="${CC_TLS_DIR}/server.key" \
      CORE_CHAINCODE_TLS_CLIENT_CACERT_FILE="${CC_TLS_DIR}/ca.crt" \
      CORE_CHAINCODE_LOGGING_LEVEL="${CORE_CHAINCODE_LOGGING_LEVEL:-info}" \
      npm run server -w chaincode
  )
  wait_for_port "${CHAINCODE_HOST}" "${port}" 30 ||
    fatal "the chaincode server did not open ${CHAINCODE_HOST}:${port}; see ${LOG_DIR}/chaincode-${port}.log"
}

# Every chaincode server this network started (running or not): chaincode-<port> names.
chaincode_servers() {
  local file
  for file in "${PID_DIR}"/chaincode*.pid; do
    [[ -e "${file}" ]] && basename "${file}" .pid
  done
  return 0
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  else
    shasum -a 256 "$1" | cut -d ' ' -f 1
  fi
}

# One PEM file as a JSON string body (newlines escaped).
pem_json() {
  awk 'NF { sub(/\r/, ""); printf "%s\\n", $0 }' "$1"
}
