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

# ---- organisations --------------------------------------------------------------------------------
# An organisation has a short name (grid, trading, regulator, trading2, ...) and its facts in network.env under
# the upper-case name: <ORG>_MSP, <ORG>_DOMAIN, <ORG>_ROLE (its role in the consortium: PLATFORM_OPERATOR,
# TRADING_CENTER or REGULATOR), <ORG>_ORG_NAME, PEER0_<ORG>_* and, for an organisation with its own Fabric CA,
# CA_<ORG>_*. The founding members are in the channel's genesis block; members added later with addOrg.sh are
# listed in build/joined-orgs once the channel configuration has them.
FOUNDING_ORGS=(grid trading regulator)
JOINED_ORGS_FILE="${BUILD_DIR}/joined-orgs"

org_upper() { printf '%s' "$1" | tr '[:lower:]' '[:upper:]'; }
# org_var ORG FIELD: the value of <ORG>_<FIELD> (fatal when unset).
org_var() {
  local var
  var="$(org_upper "$1")_$2"
  [[ -n "${!var:-}" ]] || fatal "${var} is not set in network.env (unknown organisation '$1'?)"
  printf '%s\n' "${!var}"
}
org_msp() { org_var "$1" MSP; }
org_domain() { org_var "$1" DOMAIN; }
org_role() { org_var "$1" ROLE; }
# The organisation's application (client) identity and its gec.role, from its role in the consortium:
# "NAME GEC_ROLE". Admin identities (gec.role admin) are for administration only.
org_client() {
  case "$(org_role "$1")" in
    PLATFORM_OPERATOR) printf 'platform energy-platform\n' ;;
    TRADING_CENTER) printf 'trading trading-center\n' ;;
    REGULATOR) printf 'regulator regulator\n' ;;
    *) fatal "$(org_upper "$1")_ROLE must be PLATFORM_OPERATOR, TRADING_CENTER or REGULATOR" ;;
  esac
}
org_client_name() {
  local client
  client="$(org_client "$1")"
  printf '%s\n' "${client%% *}"
}
# Prints the value of PEER0_<ORG>_<FIELD> (FIELD: NAME, HOST, PORT, CHAINCODE_PORT, OPERATIONS_PORT).
peer_var() {
  local var
  var="PEER0_$(org_upper "$1")_$2"
  [[ -n "${!var+x}" ]] || fatal "${var} is not set in network.env"
  printf '%s\n' "${!var}"
}
# Prints the value of CA_<ORG>_<FIELD> (FIELD: HOST, PORT, OPERATIONS_PORT).
ca_var() {
  local var
  var="CA_$(org_upper "$1")_$2"
  [[ -n "${!var+x}" ]] || fatal "${var} is not set in network.env"
  printf '%s\n' "${!var}"
}
org_dir() {
  printf '%s\n' "${ORGS_DIR}/peerOrganizations/$(org_domain "$1")"
}
peer_dir() {
  printf '%s\n' "$(org_dir "$1")/peers/$(peer_var "$1" NAME)"
}
peer_tls_ca() {
  printf '%s\n' "$(peer_dir "$1")/tls/ca.crt"
}
# ---- orderers -------------------------------------------------------------------------------------
# The channel's Raft orderers: orderer0 .. orderer<ORDERER_COUNT - 1>, each with ORDERER<i>_NAME, _HOST, _PORT,
# _ADMIN_PORT and _OPERATIONS_PORT in network.env. build/orderer-count records the count the channel was made with.
ORDERER_COUNT_FILE="${BUILD_DIR}/orderer-count"
orderer_count() {
  local count="${ORDERER_COUNT:-1}"
  [[ "${count}" =~ ^[1-9]$ ]] || fatal "ORDERER_COUNT must be 1 to 9 (1 or 3 in practice; got '${count}')"
  printf '%s\n' "${count}"
}
# The indices 0 .. ORDERER_COUNT - 1.
orderers() {
  local i count
  count="$(orderer_count)"
  for ((i = 0; i < count; i++)); do printf '%s\n' "${i}"; done
}
# orderer_var I FIELD: ORDERER<I>_<FIELD> (NAME, HOST, PORT, ADMIN_PORT, OPERATIONS_PORT).
orderer_var() {
  local var="ORDERER$1_$2"
  [[ -n "${!var:-}" ]] || fatal "${var} is not set in network.env (ORDERER_COUNT=$(orderer_count) needs orderers 0 to $(($(orderer_count) - 1)))"
  printf '%s\n' "${!var}"
}
orderer_dir() {
  printf '%s\n' "${ORGS_DIR}/ordererOrganizations/${ORDERER_DOMAIN}/orderers/$(orderer_var "${1:-0}" NAME)"
}
# The orderer organisation's TLS CA (one for every orderer).
orderer_tls_ca() {
  printf '%s\n' "$(orderer_dir 0)/tls/ca.crt"
}
# The first orderer that accepts connections (host:port and name), for the CLI: with three, any one of them may
# be down. Falls back to orderer0 when none answers (the command then says what is wrong).
reachable_orderer() {
  local i
  for i in $(orderers); do
    if (exec 3<>"/dev/tcp/$(orderer_var "${i}" HOST)/$(orderer_var "${i}" PORT)") 2>/dev/null; then
      printf '%s:%s %s\n' "$(orderer_var "${i}" HOST)" "$(orderer_var "${i}" PORT)" "$(orderer_var "${i}" NAME)"
      return 0
    fi
  done
  printf '%s:%s %s\n' "${ORDERER0_HOST}" "${ORDERER0_PORT}" "${ORDERER0_NAME}"
}
# Is any orderer of the channel running here?
any_orderer_running() {
  local i
  for i in $(orderers); do is_running "orderer${i}" && return 0; done
  return 1
}
# The CLI's orderer arguments (-o, --ordererTLSHostnameOverride, --tls, --cafile), one per line, for
# ORDERER_ARGS=(); while read -r a; do ORDERER_ARGS+=("$a"); done < <(orderer_args)
orderer_args() {
  local address name
  read -r address name <<<"$(reachable_orderer)"
  printf '%s\n' -o "${address}" --ordererTLSHostnameOverride "${name}" --tls --cafile "$(orderer_tls_ca)"
}

joined_orgs() {
  [[ -f "${JOINED_ORGS_FILE}" ]] || return 0
  grep -Ev '^[[:space:]]*(#|$)' "${JOINED_ORGS_FILE}" || true
}
# Every member with a peer on the channel: the founding ones, then those added by addOrg.sh, in joining order.
ORGS=("${FOUNDING_ORGS[@]}")
while IFS= read -r joined; do ORGS+=("${joined}"); done < <(joined_orgs)
unset joined

# Members with a given consortium role, e.g. orgs_with_role TRADING_CENTER.
orgs_with_role() {
  local org
  for org in "${ORGS[@]}"; do
    [[ "$(org_role "${org}")" == "$1" ]] && printf '%s\n' "${org}"
  done
  return 0
}

# The chaincode endorsement policy: CHAINCODE_POLICY when set (deployCC.sh -p), otherwise derived from the
# members: the platform operator's peer AND one trading center's peer. With one trading center that is
# AND('GridMSP.peer','TradingCenterMSP.peer'), the embedded ledger's policy; a trading center added with
# addOrg.sh joins the OR, so each trading center's transactions are endorsed by the grid and itself, and no
# trading center needs another one's peer. The regulator's peer never endorses.
endorsement_policy() {
  if [[ -n "${CHAINCODE_POLICY:-}" ]]; then
    printf '%s\n' "${CHAINCODE_POLICY}"
    return 0
  fi
  local platforms=() traders=() org
  for org in $(orgs_with_role PLATFORM_OPERATOR); do platforms+=("'$(org_msp "${org}").peer'"); done
  for org in $(orgs_with_role TRADING_CENTER); do traders+=("'$(org_msp "${org}").peer'"); done
  ((${#platforms[@]} > 0 && ${#traders[@]} > 0)) || fatal "no platform operator or no trading center among ${ORGS[*]}"
  printf 'AND(%s,%s)\n' "$(policy_any "${platforms[@]}")" "$(policy_any "${traders[@]}")"
}
# One principal as itself, several as OR(...).
policy_any() {
  if (($# == 1)); then
    printf '%s' "$1"
  else
    local IFS=,
    printf 'OR(%s)' "$*"
  fi
}

# The Fabric CLI environment of an organisation's admin (users/admin@<domain>: OU admin, gec.role admin).
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
  # The first orderer that answers (with ORDERER_COUNT=3 any one may be down).
  export ORDERER_ADDRESS ORDERER_HOSTNAME ORDERER_CA
  read -r ORDERER_ADDRESS ORDERER_HOSTNAME <<<"$(reachable_orderer)"
  ORDERER_CA="$(orderer_tls_ca)"
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

# Start orderer I natively (up.sh): its own ledger and Raft WAL under build/data/orderer<I>; the other orderers of
# the channel are reached through the cluster port (its listener, mutual TLS with the orderer organisation's CA).
start_orderer() {
  local i="$1" home name port
  home="$(orderer_dir "${i}")"
  name="$(orderer_var "${i}" NAME)"
  port="$(orderer_var "${i}" PORT)"
  [[ -f "${home}/tls/server.crt" ]] || fatal "no crypto material for ${name} in ${home} (made before ORDERER_COUNT=$(orderer_count)?): run network/scripts/clean.sh, then up.sh"
  log "starting ${name} on ${GEC_LISTEN_ADDRESS}:${port} (admin $(orderer_var "${i}" ADMIN_PORT))"
  start_process "orderer${i}" env \
    FABRIC_CFG_PATH="${NODE_CFG_DIR}" \
    FABRIC_LOGGING_SPEC="${FABRIC_LOGGING_SPEC:-INFO}" \
    ORDERER_GENERAL_LISTENADDRESS="${GEC_LISTEN_ADDRESS}" \
    ORDERER_GENERAL_LISTENPORT="${port}" \
    ORDERER_GENERAL_LOCALMSPID=OrdererMSP \
    ORDERER_GENERAL_LOCALMSPDIR="${home}/msp" \
    ORDERER_GENERAL_TLS_ENABLED=true \
    ORDERER_GENERAL_TLS_PRIVATEKEY="${home}/tls/server.key" \
    ORDERER_GENERAL_TLS_CERTIFICATE="${home}/tls/server.crt" \
    ORDERER_GENERAL_TLS_ROOTCAS="[${home}/tls/ca.crt]" \
    ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE="${home}/tls/server.crt" \
    ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY="${home}/tls/server.key" \
    ORDERER_GENERAL_CLUSTER_ROOTCAS="[${home}/tls/ca.crt]" \
    ORDERER_GENERAL_BOOTSTRAPMETHOD=none \
    ORDERER_CHANNELPARTICIPATION_ENABLED=true \
    ORDERER_ADMIN_LISTENADDRESS="${GEC_LISTEN_ADDRESS}:$(orderer_var "${i}" ADMIN_PORT)" \
    ORDERER_ADMIN_TLS_ENABLED=true \
    ORDERER_ADMIN_TLS_CERTIFICATE="${home}/tls/server.crt" \
    ORDERER_ADMIN_TLS_PRIVATEKEY="${home}/tls/server.key" \
    ORDERER_ADMIN_TLS_ROOTCAS="[${home}/tls/ca.crt]" \
    ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true \
    ORDERER_ADMIN_TLS_CLIENTROOTCAS="[${home}/tls/ca.crt]" \
    ORDERER_OPERATIONS_LISTENADDRESS="${GEC_LISTEN_ADDRESS}:$(orderer_var "${i}" OPERATIONS_PORT)" \
    ORDERER_METRICS_PROVIDER=prometheus \
    ORDERER_FILELEDGER_LOCATION="${DATA_DIR}/orderer${i}" \
    ORDERER_CONSENSUS_WALDIR="${DATA_DIR}/orderer${i}/etcdraft/wal" \
    ORDERER_CONSENSUS_SNAPDIR="${DATA_DIR}/orderer${i}/etcdraft/snapshot" \
    orderer
}

# A Raft orderer metric of the channel on orderer I's operations port (consensus_etcdraft_<NAME>), or nothing.
raft_metric() {
  curl -s --max-time 2 "http://${GEC_LISTEN_ADDRESS}:$(orderer_var "$1" OPERATIONS_PORT)/metrics" 2>/dev/null |
    sed -n "s/^consensus_etcdraft_$2{channel=\"${CHANNEL_NAME}\"} \([0-9.e+]*\)\$/\1/p" | head -n 1
}
# The index of the orderer that leads the channel's Raft cluster now; fails when none does.
raft_leader() {
  local i
  for i in $(orderers); do
    if [[ "$(raft_metric "${i}" is_leader)" == 1 ]]; then
      printf '%s\n' "${i}"
      return 0
    fi
  done
  return 1
}
# Wait (up to 60 s) until the channel's Raft cluster has a leader: until then the orderers refuse transactions
# (SERVICE_UNAVAILABLE), right after a join or a restart.
wait_for_raft_leader() {
  local waited=0
  until raft_leader >/dev/null; do
    if ((waited++ >= 240)); then
      warn "no Raft leader for ${CHANNEL_NAME} after 60 s; see ${LOG_DIR}/orderer*.log"
      return 1
    fi
    sleep 0.25
  done
}

# osnadmin as orderer I's admin (its TLS client certificate): osnadmin_as I channel list|join ...
osnadmin_as() {
  local i="$1" home
  shift
  home="$(orderer_dir "${i}")"
  osnadmin "$@" -o "$(orderer_var "${i}" HOST):$(orderer_var "${i}" ADMIN_PORT)" --ca-file "${home}/tls/ca.crt" \
    --client-cert "${home}/tls/server.crt" --client-key "${home}/tls/server.key"
}

# ---- peers ----------------------------------------------------------------------------------------
# Start an organisation's peer0 natively (up.sh, addOrg.sh): config from build/config (up.sh copies it).
# GEC_CCAAS_CLIENT_CERT/_KEY (passed on to the external builder): the peer's own TLS certificate and key, issued by
# its organisation's CA, which it presents to the chaincode server; the package carries no client key.
start_peer() {
  local org="$1" name host port cc_port ops_port home
  name="$(peer_var "${org}" NAME)"
  host="$(peer_var "${org}" HOST)"
  port="$(peer_var "${org}" PORT)"
  cc_port="$(peer_var "${org}" CHAINCODE_PORT)"
  ops_port="$(peer_var "${org}" OPERATIONS_PORT)"
  home="$(peer_dir "${org}")"
  log "starting ${name} ($(org_msp "${org}")) on ${GEC_LISTEN_ADDRESS}:${port}"
  start_process "peer0-${org}" env \
    FABRIC_CFG_PATH="${NODE_CFG_DIR}" \
    FABRIC_LOGGING_SPEC="${FABRIC_LOGGING_SPEC:-INFO}" \
    CORE_PEER_ID="${name}" \
    CORE_PEER_LOCALMSPID="$(org_msp "${org}")" \
    CORE_PEER_MSPCONFIGPATH="${home}/msp" \
    CORE_PEER_ADDRESS="${host}:${port}" \
    CORE_PEER_LISTENADDRESS="${GEC_LISTEN_ADDRESS}:${port}" \
    CORE_PEER_CHAINCODEADDRESS="${host}:${cc_port}" \
    CORE_PEER_CHAINCODELISTENADDRESS="${GEC_LISTEN_ADDRESS}:${cc_port}" \
    CORE_PEER_GOSSIP_BOOTSTRAP="${host}:${port}" \
    CORE_PEER_GOSSIP_EXTERNALENDPOINT="${host}:${port}" \
    CORE_PEER_TLS_ENABLED=true \
    CORE_PEER_TLS_CERT_FILE="${home}/tls/server.crt" \
    CORE_PEER_TLS_KEY_FILE="${home}/tls/server.key" \
    CORE_PEER_TLS_ROOTCERT_FILE="${home}/tls/ca.crt" \
    CORE_PEER_GATEWAY_ENABLED=true \
    CORE_PEER_PROFILE_ENABLED=false \
    CORE_PEER_FILESYSTEMPATH="${DATA_DIR}/peer0-${org}" \
    CORE_LEDGER_SNAPSHOTS_ROOTDIR="${DATA_DIR}/peer0-${org}/snapshots" \
    CORE_LEDGER_STATE_STATEDATABASE=goleveldb \
    CORE_OPERATIONS_LISTENADDRESS="${GEC_LISTEN_ADDRESS}:${ops_port}" \
    CORE_METRICS_PROVIDER=prometheus \
    CORE_CHAINCODE_EXTERNALBUILDERS="[{name: gec-ccaas, path: ${NETWORK_DIR}/builders/ccaas, propagateEnvironment: [GEC_CCAAS_CLIENT_CERT, GEC_CCAAS_CLIENT_KEY]}]" \
    GEC_CCAAS_CLIENT_CERT="${home}/tls/server.crt" \
    GEC_CCAAS_CLIENT_KEY="${home}/tls/server.key" \
    peer node start
}

# Wait (up to 60 s) until an organisation's peer knows the other members' peers on the channel by gossip: until
# it does, service discovery finds no combination of peers for the endorsement policy.
wait_for_gossip() {
  local org="$1" expected ops waited=0
  expected=$((${#ORGS[@]} - 1))
  ops="${GEC_LISTEN_ADDRESS}:$(peer_var "${org}" OPERATIONS_PORT)"
  until curl -s --max-time 2 "http://${ops}/metrics" |
    grep -Eq "^gossip_membership_total_peers_known\{channel=\"${CHANNEL_NAME}\"\} ([${expected}-9]|[1-9][0-9]+)"; do
    if ((waited++ >= 240)); then
      warn "peer0 of ${org} does not know the other organisations' peers after 60 s; see ${LOG_DIR}/peer0-${org}.log"
      return 1
    fi
    sleep 0.25
  done
}

# ---- Fabric CA (one per member: GEC_CRYPTO=fabric-ca, and every member addOrg.sh adds) -------------------
# fabric-ca-server home: organizations/fabric-ca/<org>/ (its CA key, database, config, and the secrets of the
# identities registered with it, 0600). Its TLS certificate is signed by the CA itself.
ca_home() {
  printf '%s\n' "${ORGS_DIR}/fabric-ca/$1"
}
ca_name() {
  printf 'ca-%s\n' "$1"
}

# The secret of an identity registered with the organisation's CA: made once, kept in the CA's home.
ca_secret() {
  local file
  file="$(ca_home "$1")/secrets/$2"
  if [[ ! -s "${file}" ]]; then
    mkdir -p "$(dirname "${file}")"
    (umask 077 && openssl rand -hex 16 >"${file}")
  fi
  cat "${file}"
}

# Start the organisation's fabric-ca-server (its config rendered by registerEnroll.sh) and wait until it answers.
start_ca() {
  local org="$1" home
  home="$(ca_home "${org}")"
  [[ -f "${home}/fabric-ca-server-config.yaml" ]] || fatal "no Fabric CA configured for ${org} in ${home}"
  if is_running "ca-${org}"; then
    return 0
  fi
  log "starting the Fabric CA of $(org_msp "${org}") on $(ca_var "${org}" HOST):$(ca_var "${org}" PORT)"
  start_process "ca-${org}" fabric-ca-server start --home "${home}"
  wait_for_port "$(ca_var "${org}" HOST)" "$(ca_var "${org}" PORT)" 30 ||
    fatal "the Fabric CA of ${org} did not open its port; see ${LOG_DIR}/ca-${org}.log"
}

# ---- chaincode calls by an organisation's admin (Fabric CLI) ------------------------------------------
# The endorsing peers of a write: one per organisation the policy needs (the platform operator and the first
# trading center; under the derived policy any trading center will do).
endorser_args() {
  local org
  for org in $(orgs_with_role PLATFORM_OPERATOR | head -n 1) $(orgs_with_role TRADING_CENTER | head -n 1); do
    printf '%s\n' --peerAddresses "$(peer_var "${org}" HOST):$(peer_var "${org}" PORT)" --tlsRootCertFiles "$(peer_tls_ca "${org}")"
  done
}

# cc_query ORG FUNCTION [ARG...]: evaluate as the organisation's admin on its own peer; prints the result.
cc_query() {
  local org="$1" fn="$2"
  shift 2
  set_admin_env "${org}"
  peer chaincode query -C "${CHANNEL_NAME}" -n "${CHAINCODE_NAME}" -c "$(cc_args "${fn}" "$@")"
}

# cc_invoke ORG FUNCTION [ARG...]: submit as the organisation's admin and wait until it is committed.
cc_invoke() {
  local org="$1" fn="$2" endorsers=() arg
  shift 2
  set_admin_env "${org}"
  while IFS= read -r arg; do endorsers+=("${arg}"); done < <(endorser_args)
  peer chaincode invoke -o "${ORDERER_ADDRESS}" --ordererTLSHostnameOverride "${ORDERER_HOSTNAME}" --tls \
    --cafile "${ORDERER_CA}" -C "${CHANNEL_NAME}" -n "${CHAINCODE_NAME}" "${endorsers[@]}" --waitForEvent \
    -c "$(cc_args "${fn}" "$@")" 2>&1
}

# {"Args":[FUNCTION, ARG...]} for the peer CLI.
cc_args() {
  jq -cn '{Args: $ARGS.positional}' --args "$@"
}

# Does the committed chaincode have CONTRACT:FUNCTION? (its metadata, read as ORG's admin)
chaincode_has() {
  local org="$1" contract="$2" fn="$3"
  cc_query "${org}" org.hyperledger.fabric:GetMetadata 2>/dev/null |
    jq -e --arg c "${contract}" --arg f "${fn}" '.contracts[$c].transactions // [] | any(.name == $f)' >/dev/null
}

# ---- chaincode servers (chaincode as a service, native) ---------------------------------------------
# Each package has its own server: `chaincode-<port>`, on CHAINCODE_PORT or CHAINCODE_PORT + 1 (blue/green).
# An upgrade starts the new package's server on the port the live one does not use, commits, waits until every
# peer runs the new definition, and only then stops the old server: a peer still finishing a transaction on the
# old package reaches it meanwhile. build/ccaas/live records the committed package (id and port) for up.sh.
CC_DIR="${BUILD_DIR}/ccaas"
CC_TLS_DIR="${CC_DIR}/tls"
CC_LIVE_FILE="${CC_DIR}/live"

# The peers' side of the chaincode TLS: each member's peer connects with its own TLS certificate, so the server
# accepts the TLS CA certificates of the channel's members (their peers' tls/ca.crt), and nobody else's. Writes
# them, one PEM after the other, to $1, and prints the members' MSP ids (comma-separated).
write_client_cas() {
  local file="$1" org ca msps=()
  : >"${file}.tmp"
  for org in "${ORGS[@]}"; do
    ca="$(peer_tls_ca "${org}")"
    [[ -f "${ca}" ]] || fatal "no TLS CA certificate of $(org_msp "${org}") at ${ca}"
    cat "${ca}" >>"${file}.tmp"
    msps+=("$(org_msp "${org}")")
  done
  mv "${file}.tmp" "${file}"
  (
    IFS=,
    printf '%s\n' "${msps[*]}"
  )
}

# Start the chaincode server of package $1 on port $2 and wait until it listens. It accepts the peers of the
# members in ORGS (write_client_cas), as build/ccaas/tls/client-cas-<port>.pem lists them.
start_chaincode_server() {
  local package_id="$1" port="$2" clients
  clients="$(write_client_cas "${CC_TLS_DIR}/client-cas-${port}.pem")"
  log "starting the chaincode server of ${package_id%%:*} on ${GEC_LISTEN_ADDRESS}:${port} for the peers of ${clients}"
  (
    cd "${REPO_ROOT}" || exit 1
    start_process "chaincode-${port}" env \
      CHAINCODE_SERVER_ADDRESS="${GEC_LISTEN_ADDRESS}:${port}" \
      CHAINCODE_ID="${package_id}" \
      CORE_CHAINCODE_TLS_CERT_FILE="${CC_TLS_DIR}/server.crt" \
      CORE_CHAINCODE_TLS_KEY_FILE="${CC_TLS_DIR}/server.key" \
      CORE_CHAINCODE_TLS_CLIENT_CACERT_FILE="${CC_TLS_DIR}/client-cas-${port}.pem" \
      CORE_CHAINCODE_LOGGING_LEVEL="${CORE_CHAINCODE_LOGGING_LEVEL:-info}" \
      npm run server -w chaincode
  )
  wait_for_port "${CHAINCODE_HOST}" "${port}" 30 ||
    fatal "the chaincode server did not open ${CHAINCODE_HOST}:${port}; see ${LOG_DIR}/chaincode-${port}.log"
}

# A field of build/ccaas/live (package_id, package, port, sequence, version, policy, clients); empty when absent.
live_field() {
  [[ -f "${CC_LIVE_FILE}" ]] || return 0
  sed -n "s/^$1=//p" "${CC_LIVE_FILE}" | head -n 1
}

# A field of the committed chaincode definition (querycommitted -O json: version, sequence, ...), as ORG's admin
# (default grid); empty when nothing is committed.
committed_field() {
  set_admin_env "${2:-grid}"
  peer lifecycle chaincode querycommitted -C "${CHANNEL_NAME}" -n "${CHAINCODE_NAME}" -O json 2>/dev/null |
    jq -r --arg f "$1" '.[$f] // empty' || true
}

# The processes started here whose names begin with $1 (running or not): names of their pid files.
started_processes() {
  local file
  for file in "${PID_DIR}/$1"*.pid; do
    [[ -e "${file}" ]] && basename "${file}" .pid
  done
  return 0
}

# Every chaincode server this network started (running or not): chaincode-<port> names.
chaincode_servers() {
  started_processes chaincode
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
