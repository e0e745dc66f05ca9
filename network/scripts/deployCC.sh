#!/usr/bin/env bash
# Deploy (or upgrade) the gec chaincode as a service: build this checkout's chaincode/, package it as
# {"type":"ccaas"} with a connection.json, install on every peer, start the chaincode server
# (`npm run server -w chaincode` = fabric-chaincode-node server) with CHAINCODE_ID = the package id, approve
# for every member (GridMSP, TradingCenterMSP, RegulatorMSP and those added by addOrg.sh), commit, wait until it
# answers, and register the consortium's members on chain (consortium.sh: InitConsortium once).
#
# Usage: network/scripts/deployCC.sh [-v VERSION] [-s SEQUENCE] [-c CHANNEL] [-n NAME] [-p POLICY] [-r]
#   Defaults from network.env; SEQUENCE defaults to the committed sequence + 1 (1 on a new channel).
#   POLICY defaults to the one derived from the members (lib.sh endorsement_policy).
#   Upgrade: run again with a new version (e.g. -v 1.1); the sequence advances by itself.
#   -r: the same chaincode again, for a change of the definition or of the members (addOrg.sh): no build, the
#   version stays; a package of the built code on the other port, its server accepting every current member's
#   peer, approved by every member at the next sequence (with the policy derived from the members) and committed,
#   then the old server stopped, as in an upgrade. GEC_SKIP_BUILD=1 skips `npm run build -w chaincode`.
#   An upgrade never stops the live chaincode server first: the new package gets its own server (the other of
#   CHAINCODE_PORT and CHAINCODE_PORT + 1), the definition is committed, and the old server stops only once
#   every peer answers on the new one and GEC_CC_DRAIN_S (5) seconds have passed.
#   TLS: the package's connection.json names the server and its CA; each peer adds its own TLS certificate and
#   key when it launches the package (network/builders/ccaas/bin/release), and the server accepts the TLS CAs of
#   the channel's members (build/ccaas/tls/client-cas-<port>.pem). No private key is in the package.
#   GEC_EXTERNAL_NODES=1 (docker/compose.yaml): the peers and the chaincode server run elsewhere; the script
#   writes the package id to build/ccaas/package-id, where the chaincode container reads its CHAINCODE_ID.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SEQUENCE=""
REUSE=false
while getopts "v:s:c:n:p:rh" opt; do
  case "${opt}" in
    v) CHAINCODE_VERSION="${OPTARG}" ;;
    s) SEQUENCE="${OPTARG}" ;;
    c) CHANNEL_NAME="${OPTARG}" ;;
    n) CHAINCODE_NAME="${OPTARG}" ;;
    p) CHAINCODE_POLICY="${OPTARG}" ;;
    r) REUSE=true ;;
    h | *)
      sed -n '2,24p' "$0"
      exit 0
      ;;
  esac
done

require_fabric_binaries peer
EXTERNAL="${GEC_EXTERNAL_NODES:-0}"
require_tools openssl tar jq
[[ "${EXTERNAL}" == 1 ]] || require_tools node npm
[[ "${CHAINCODE_VERSION}" =~ ^[[:alnum:]][[:alnum:]_.+-]*$ ]] || fatal "version '${CHAINCODE_VERSION}' is not a valid label part"
[[ -z "${SEQUENCE}" || "${SEQUENCE}" =~ ^[1-9][0-9]*$ ]] || fatal "sequence must be a positive integer"
if [[ "${EXTERNAL}" != 1 ]]; then
  for org in "${ORGS[@]}"; do
    is_running "peer0-${org}" || fatal "peer0 of ${org} is not running: run network/scripts/up.sh first"
  done
fi

TLS_DIR="${CC_TLS_DIR}"
POLICY="$(endorsement_policy)"
if [[ "${REUSE}" == true ]]; then
  [[ -f "${CC_LIVE_FILE}" ]] || fatal "-r needs a committed chaincode (${CC_LIVE_FILE}): run deployCC.sh first"
  CHAINCODE_VERSION="$(live_field version)"
  [[ -n "${CHAINCODE_VERSION}" ]] || CHAINCODE_VERSION="$(committed_field version)"
fi
LABEL="${CHAINCODE_NAME}_${CHAINCODE_VERSION}"
mkdir -p "${CC_DIR}" "${LOG_DIR}"

# ---- chaincode build ------------------------------------------------------------------------------
if [[ "${REUSE}" == true ]]; then
  log "the same chaincode again (version ${CHAINCODE_VERSION}, no build), for the members ${ORGS[*]}"
elif [[ "${GEC_SKIP_BUILD:-0}" != 1 && "${EXTERNAL}" != 1 ]]; then
  log "building chaincode/ (npm run build -w chaincode)"
  (cd "${REPO_ROOT}" && npm run build -w chaincode >"${LOG_DIR}/chaincode-build.log" 2>&1) ||
    fatal "chaincode build failed; see ${LOG_DIR}/chaincode-build.log"
fi
[[ "${EXTERNAL}" == 1 || -f "${REPO_ROOT}/chaincode/dist/index.js" ]] ||
  fatal "chaincode/dist/index.js missing: run npm run build -w chaincode"

# ---- TLS between the peers and the chaincode server ---------------------------------------------------
# The server's certificate from a small CA of its own, made once. The peers' side is their own TLS certificates
# (each member's CA), added by the builder at launch; the server accepts the members' TLS CAs.
rm -f "${TLS_DIR}"/client.* # a shared client key of earlier versions of this script: no longer used
if [[ ! -f "${TLS_DIR}/server.crt" ]]; then
  log "creating the chaincode server's TLS CA and certificates in ${TLS_DIR}"
  mkdir -p "${TLS_DIR}"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/O=gec-ledger/CN=gec-chaincode-tls-ca" -keyout "${TLS_DIR}/ca.key" -out "${TLS_DIR}/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  issue_tls() {
    local name="$1" usage="$2" san="$3"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=gec-ledger/CN=${name}" \
      -keyout "${TLS_DIR}/${name}.key" -out "${TLS_DIR}/${name}.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s\n' \
      "${usage}" "${san}" >"${TLS_DIR}/${name}.ext"
    openssl x509 -req -in "${TLS_DIR}/${name}.csr" -CA "${TLS_DIR}/ca.crt" -CAkey "${TLS_DIR}/ca.key" \
      -CAcreateserial -CAserial "${TLS_DIR}/ca.srl" -days 825 -sha256 -extfile "${TLS_DIR}/${name}.ext" \
      -out "${TLS_DIR}/${name}.crt" 2>/dev/null
  }
  issue_tls server serverAuth "subjectAltName=DNS:localhost,DNS:gec-chaincode,IP:127.0.0.1$(
    [[ "${CHAINCODE_HOST}" =~ ^[0-9.]+$ ]] && [[ "${CHAINCODE_HOST}" != 127.0.0.1 ]] && printf ',IP:%s' "${CHAINCODE_HOST}"
    [[ ! "${CHAINCODE_HOST}" =~ ^[0-9.]+$ ]] && [[ "${CHAINCODE_HOST}" != localhost ]] && printf ',DNS:%s' "${CHAINCODE_HOST}"
    true
  )"
  chmod 600 "${TLS_DIR}"/*.key
fi

# ---- the new server's port -----------------------------------------------------------------------------
# Native: the port the live server does not use, so both run through the upgrade (blue/green). External
# (docker/compose.yaml): the chaincode container's one port; it is restarted with the new id.
LIVE_PORT="$(live_field port)"
SERVER_PORT="${CHAINCODE_PORT}"
if [[ "${EXTERNAL}" != 1 ]]; then
  if { [[ "${LIVE_PORT}" == "${CHAINCODE_PORT}" ]] && is_running "chaincode-${LIVE_PORT}"; } || is_running chaincode; then
    SERVER_PORT=$((CHAINCODE_PORT + 1))
  fi
fi

# ---- package ----------------------------------------------------------------------------------------
# Public material only: the server's address and the CA of its certificate.
PACKAGE="${CC_DIR}/${LABEL}-${SERVER_PORT}.tar.gz"
WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT
cat >"${WORK}/connection.json" <<JSON
{
  "address": "${CHAINCODE_HOST}:${SERVER_PORT}",
  "dial_timeout": "10s",
  "tls_required": true,
  "client_auth_required": true,
  "root_cert": "$(pem_json "${TLS_DIR}/ca.crt")"
}
JSON
printf '{"type":"ccaas","label":"%s"}\n' "${LABEL}" >"${WORK}/metadata.json"
# Fixed owner and mtime so that the same inputs give the same package id.
TAR_FLAGS=(--owner=0 --group=0 --numeric-owner --mtime=@0)
tar --version 2>/dev/null | grep -q 'GNU tar' || TAR_FLAGS=()
tar "${TAR_FLAGS[@]}" -C "${WORK}" -czf "${WORK}/code.tar.gz" connection.json
tar "${TAR_FLAGS[@]}" -C "${WORK}" -czf "${PACKAGE}" metadata.json code.tar.gz
# The package id is label:sha256(package file), as `peer lifecycle chaincode calculatepackageid` prints.
PACKAGE_ID="${LABEL}:$(sha256_of "${PACKAGE}")"
if [[ "${EXTERNAL}" == 1 ]]; then
  # The chaincode container reads the members' TLS CAs from here, and starts once package-id exists.
  write_client_cas "${TLS_DIR}/client-cas.pem" >/dev/null
fi
printf '%s\n' "${PACKAGE_ID}" >"${CC_DIR}/package-id"
log "package ${PACKAGE} (id ${PACKAGE_ID})"

# ---- install on every peer --------------------------------------------------------------------------
for org in "${ORGS[@]}"; do
  set_admin_env "${org}"
  if peer lifecycle chaincode queryinstalled 2>/dev/null | grep -q "Package ID: ${PACKAGE_ID},"; then
    log "already installed on $(org_msp "${org}")"
  else
    peer lifecycle chaincode install "${PACKAGE}" >>"${LOG_DIR}/lifecycle.log" 2>&1 ||
      fatal "install on $(org_msp "${org}") failed; see ${LOG_DIR}/lifecycle.log"
    log "installed on $(org_msp "${org}")"
  fi
done

# ---- sequence ---------------------------------------------------------------------------------------
if [[ -z "${SEQUENCE}" ]]; then
  current="$(committed_field sequence)"
  SEQUENCE=$((${current:-0} + 1))
fi
log "chaincode ${CHAINCODE_NAME} version ${CHAINCODE_VERSION} sequence ${SEQUENCE} on ${CHANNEL_NAME}, policy ${POLICY}"

# ---- approve for each organisation ------------------------------------------------------------------
ORDERER_ARGS=()
while IFS= read -r arg; do ORDERER_ARGS+=("${arg}"); done < <(orderer_args)
DEFINITION=(--channelID "${CHANNEL_NAME}" --name "${CHAINCODE_NAME}" --version "${CHAINCODE_VERSION}"
  --sequence "${SEQUENCE}" --signature-policy "${POLICY}")
for org in "${ORGS[@]}"; do
  set_admin_env "${org}"
  # Resumable: an approval of this very package at this sequence (a re-run after a failed commit) is kept;
  # approving unchanged content again is an error in Fabric.
  approved="$(peer lifecycle chaincode queryapproved -C "${CHANNEL_NAME}" -n "${CHAINCODE_NAME}" \
    --sequence "${SEQUENCE}" -O json 2>/dev/null || true)"
  if grep -q "\"${PACKAGE_ID}\"" <<<"${approved}"; then
    log "already approved by $(org_msp "${org}")"
    continue
  fi
  peer lifecycle chaincode approveformyorg "${ORDERER_ARGS[@]}" "${DEFINITION[@]}" \
    --package-id "${PACKAGE_ID}" >>"${LOG_DIR}/lifecycle.log" 2>&1 ||
    fatal "approval by $(org_msp "${org}") failed; see ${LOG_DIR}/lifecycle.log"
  log "approved by $(org_msp "${org}")"
done

# ---- chaincode server -------------------------------------------------------------------------------
# One server per package for the peers here (each organisation runs its own in production), accepting the peers
# of every member. The new package's server starts before the commit; the old one keeps serving until every peer
# runs the new definition.
if [[ "${EXTERNAL}" == 1 ]]; then
  log "waiting for the chaincode container (CHAINCODE_ID from ${CC_DIR}/package-id) on ${CHAINCODE_HOST}:${SERVER_PORT}"
  wait_for_port "${CHAINCODE_HOST}" "${SERVER_PORT}" 120 || fatal "no chaincode server on ${CHAINCODE_HOST}:${SERVER_PORT}"
  # On an upgrade, restart it so that it reads the new id: docker compose restart chaincode
else
  stop_process "chaincode-${SERVER_PORT}"
  start_chaincode_server "${PACKAGE_ID}" "${SERVER_PORT}"
fi

# ---- commit -----------------------------------------------------------------------------------------
set_admin_env grid
peer lifecycle chaincode checkcommitreadiness "${DEFINITION[@]}" --output json >>"${LOG_DIR}/lifecycle.log" 2>&1 || true
PEER_ARGS=()
for org in "${ORGS[@]}"; do
  PEER_ARGS+=(--peerAddresses "$(peer_var "${org}" HOST):$(peer_var "${org}" PORT)" --tlsRootCertFiles "$(peer_tls_ca "${org}")")
done
peer lifecycle chaincode commit "${ORDERER_ARGS[@]}" "${DEFINITION[@]}" "${PEER_ARGS[@]}" \
  >>"${LOG_DIR}/lifecycle.log" 2>&1 || fatal "commit failed; see ${LOG_DIR}/lifecycle.log"
log "committed ${CHAINCODE_NAME} sequence ${SEQUENCE}"

# ---- wait until every peer reaches the chaincode --------------------------------------------------
for org in "${ORGS[@]}"; do
  set_admin_env "${org}"
  attempt=1
  until peer chaincode query -C "${CHANNEL_NAME}" -n "${CHAINCODE_NAME}" \
    -c '{"Args":["org.hyperledger.fabric:GetMetadata"]}' >/dev/null 2>>"${LOG_DIR}/lifecycle.log"; do
    ((attempt++ < 30)) || fatal "$(org_msp "${org}") peer cannot reach the chaincode; see ${LOG_DIR}/chaincode-${SERVER_PORT}.log"
    sleep 1
  done
done
# Service discovery offers endorsers only for peers that know each other by gossip: on a new channel that takes
# a while after the joins, and until then every submit fails (no peer combination can satisfy the policy).
if [[ "${EXTERNAL}" != 1 ]]; then
  for org in "${ORGS[@]}"; do wait_for_gossip "${org}" || true; done
fi
CLIENTS="$(for org in "${ORGS[@]}"; do org_msp "${org}"; done | paste -sd, -)"
printf 'package_id=%s\npackage=%s\nport=%s\nsequence=%s\nversion=%s\npolicy=%s\nclients=%s\n' "${PACKAGE_ID}" \
  "${PACKAGE}" "${SERVER_PORT}" "${SEQUENCE}" "${CHAINCODE_VERSION}" "${POLICY}" "${CLIENTS}" >"${CC_LIVE_FILE}"
if [[ "${EXTERNAL}" != 1 ]]; then
  # Every peer answers on the new definition; endorsements that began on the old package finish within the
  # drain time, and then its server has nothing left to serve.
  sleep "${GEC_CC_DRAIN_S:-5}"
  for server in $(chaincode_servers); do
    [[ "${server}" == "chaincode-${SERVER_PORT}" ]] || stop_process "${server}"
  done
fi
log "chaincode ${CHAINCODE_NAME} ${CHAINCODE_VERSION} (sequence ${SEQUENCE}) is live on port ${SERVER_PORT}"

# ---- the consortium's members on chain (the chaincode's organisation registry) ---------------------------
"${NETWORK_DIR}/scripts/consortium.sh"
