#!/usr/bin/env bash
# Bring the gec-ledger consortium up natively: crypto material (each founding member's from its own Fabric CA,
# GEC_CRYPTO), role identities, the Raft orderers (ORDERER_COUNT: 1, or 3 for a cluster that survives one down)
# and the peers of GridMSP, TradingCenterMSP and RegulatorMSP (and
# of the members addOrg.sh added), every listener on 127.0.0.1 (network.env).
#
# Usage: network/scripts/up.sh                  generate what is missing and start the nodes natively
#        network/scripts/up.sh --generate-only  crypto (cryptogen and enroll.sh), identities, configtx, channel
#                                               block, profiles only (docker/compose.yaml runs this in its
#                                               fabric-tools container, which has no Fabric CA)
# Needs: peer, orderer, configtxgen, cryptogen, fabric-ca-server, fabric-ca-client (Fabric 2.4/2.5, Fabric CA
#        1.5) on PATH or in FABRIC_BIN; the release's config/ folder (FABRIC_CFG, default <bin>/../config);
#        openssl, jq.
# Next:  network/scripts/createChannel.sh, then network/scripts/deployCC.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GENERATE_ONLY=false
[[ "${1:-}" == "--generate-only" ]] && GENERATE_ONLY=true
if [[ "${GENERATE_ONLY}" == true ]]; then
  require_fabric_binaries peer configtxgen cryptogen
else
  require_fabric_binaries peer orderer configtxgen cryptogen
fi
require_tools openssl awk sed od curl jq
FABRIC_VERSION="$(check_fabric_version)"
log "Fabric ${FABRIC_VERSION} ($(command -v peer))"

# ---- crypto material ------------------------------------------------------------------------------
# The orderer's from cryptogen; the founding peer organisations' from their own Fabric CAs (GEC_CRYPTO=fabric-ca)
# or from cryptogen with enroll.sh's gec.role identities (GEC_CRYPTO=cryptogen, and --generate-only).
CRYPTO="${GEC_CRYPTO:-fabric-ca}"
[[ "${GENERATE_ONLY}" == true ]] && CRYPTO=cryptogen
case "${CRYPTO}" in fabric-ca | cryptogen) ;; *) fatal "GEC_CRYPTO must be fabric-ca or cryptogen (got '${CRYPTO}')" ;; esac
if [[ ! -d "${ORGS_DIR}/ordererOrganizations" ]]; then
  log "generating the orderer organisation's crypto material with cryptogen"
  cryptogen generate --config="${NETWORK_DIR}/crypto-config-orderer.yaml" --output="${ORGS_DIR}" >/dev/null
fi
if [[ "${CRYPTO}" == fabric-ca ]]; then
  require_fabric_binaries fabric-ca-server fabric-ca-client
  for org in "${FOUNDING_ORGS[@]}"; do "${NETWORK_DIR}/scripts/registerEnroll.sh" "${org}"; done
else
  if [[ ! -d "${ORGS_DIR}/peerOrganizations" ]]; then
    log "generating the peer organisations' crypto material with cryptogen"
    cryptogen generate --config="${NETWORK_DIR}/crypto-config.yaml" --output="${ORGS_DIR}" >/dev/null
  else
    log "reusing crypto material in ${ORGS_DIR} (network/scripts/clean.sh removes it)"
  fi
  "${NETWORK_DIR}/scripts/enroll.sh"
fi

# ---- configuration --------------------------------------------------------------------------------
mkdir -p "${NODE_CFG_DIR}" "${DATA_DIR}" "${LOG_DIR}" "${PID_DIR}" "${ARTIFACTS_DIR}"
if [[ "${FABRIC_VERSION}" == 2.4.* ]]; then GEC_APP_CAPABILITY=V2_0; else GEC_APP_CAPABILITY=V2_5; fi
export GEC_APP_CAPABILITY
# The Raft orderers: the channel's consenters and its orderer endpoints, fixed in the genesis block.
ORDERERS="$(orderer_count)"
if [[ -f "${ORDERER_COUNT_FILE}" && "$(cat "${ORDERER_COUNT_FILE}")" != "${ORDERERS}" ]]; then
  fatal "this network's channel was made with $(cat "${ORDERER_COUNT_FILE}") orderer(s), ORDERER_COUNT is ${ORDERERS}: run network/scripts/clean.sh to make a new one"
fi
printf '%s\n' "${ORDERERS}" >"${ORDERER_COUNT_FILE}"
ORDERER_ENDPOINTS=""
ORDERER_CONSENTERS=""
for i in $(orderers); do
  tls="../../organizations/ordererOrganizations/${ORDERER_DOMAIN}/orderers/$(orderer_var "${i}" NAME)/tls/server.crt"
  ORDERER_ENDPOINTS+="${ORDERER_ENDPOINTS:+, }$(orderer_var "${i}" HOST):$(orderer_var "${i}" PORT)"
  ORDERER_CONSENTERS+="${ORDERER_CONSENTERS:+, }{Host: $(orderer_var "${i}" HOST), Port: $(orderer_var "${i}" PORT), ClientTLSCert: ${tls}, ServerTLSCert: ${tls}}"
done
export ORDERER_ENDPOINTS ORDERER_CONSENTERS
render_template "${NETWORK_DIR}/configtx/configtx.yaml" "${BUILD_DIR}/configtx/configtx.yaml" \
  ORDERER_DOMAIN ORDERER_ENDPOINTS ORDERER_CONSENTERS GRID_DOMAIN TRADING_DOMAIN REGULATOR_DOMAIN \
  PEER0_GRID_HOST PEER0_GRID_PORT PEER0_TRADING_HOST PEER0_TRADING_PORT PEER0_REGULATOR_HOST \
  PEER0_REGULATOR_PORT GEC_APP_CAPABILITY
configtxgen -configPath "${BUILD_DIR}/configtx" -profile GecChannel -channelID "${CHANNEL_NAME}" \
  -outputBlock "${ARTIFACTS_DIR}/${CHANNEL_NAME}.block" 2>>"${LOG_DIR}/configtxgen.log"
if [[ "${GENERATE_ONLY}" == true ]]; then
  "${NETWORK_DIR}/scripts/connectionProfiles.sh"
  log "generated crypto material, identities, ${ARTIFACTS_DIR}/${CHANNEL_NAME}.block and connection profiles"
  exit 0
fi
CONFIG_SOURCE="$(fabric_config_source)"
cp "${CONFIG_SOURCE}/core.yaml" "${CONFIG_SOURCE}/orderer.yaml" "${NODE_CFG_DIR}/"
# No Docker here (chaincode runs as a service): with the sample's docker.sock endpoint the peer registers a
# Docker health check and /healthz answers 503. Fabric skips the check only when the endpoint is empty in the
# file; an empty CORE_VM_ENDPOINT in the environment does not do it.
sed -i.orig -E 's#^([[:space:]]*endpoint:[[:space:]]*)unix:///var/run/docker.sock[[:space:]]*$#\1""#' \
  "${NODE_CFG_DIR}/core.yaml"
grep -Eq '^[[:space:]]*endpoint:[[:space:]]*""' "${NODE_CFG_DIR}/core.yaml" ||
  fatal "could not blank vm.endpoint in ${NODE_CFG_DIR}/core.yaml"
rm -f "${NODE_CFG_DIR}/core.yaml.orig"

# ---- orderers -------------------------------------------------------------------------------------
for i in $(orderers); do start_orderer "${i}"; done

# ---- peers (and the Fabric CA of each member added by addOrg.sh) -----------------------------------------
for org in "${ORGS[@]}"; do
  if [[ -f "$(ca_home "${org}")/fabric-ca-server-config.yaml" ]]; then start_ca "${org}"; fi
  start_peer "${org}"
done

for i in $(orderers); do
  wait_for_port "$(orderer_var "${i}" HOST)" "$(orderer_var "${i}" PORT)" 30 ||
    fatal "orderer${i} did not open $(orderer_var "${i}" HOST):$(orderer_var "${i}" PORT); see ${LOG_DIR}/orderer${i}.log"
done
for org in "${ORGS[@]}"; do
  wait_for_port "$(peer_var "${org}" HOST)" "$(peer_var "${org}" PORT)" 30 ||
    fatal "peer0 of ${org} did not open its port; see ${LOG_DIR}/peer0-${org}.log"
done

# ---- a restarted network is ready when its peers know each other again ------------------------------
# After down.sh, each peer learns the others' membership by gossip; until it has, service discovery finds no
# combination of peers for the endorsement policy and every submit fails (FAILED_PRECONDITION).
if [[ -f "${CC_LIVE_FILE}" ]]; then
  # and the orderers have elected a Raft leader again (until then every submit is refused)
  wait_for_raft_leader || true
  for org in "${ORGS[@]}"; do wait_for_gossip "${org}" || true; done
fi

# ---- the committed chaincode's server (after down.sh, nothing else starts it again) -------------------
if [[ -f "${CC_LIVE_FILE}" && "${GEC_EXTERNAL_NODES:-0}" != 1 ]]; then
  live_id="$(live_field package_id)"
  live_port="$(live_field port)"
  if [[ -n "${live_id}" && -n "${live_port}" ]] && ! is_running "chaincode-${live_port}"; then
    start_chaincode_server "${live_id}" "${live_port}"
  fi
fi

"${NETWORK_DIR}/scripts/connectionProfiles.sh"
if [[ -f "${CC_LIVE_FILE}" ]]; then
  log "network up with chaincode $(live_field package_id | cut -d: -f1) (logs in ${LOG_DIR})"
else
  log "network up (logs in ${LOG_DIR}); next: network/scripts/createChannel.sh"
fi
