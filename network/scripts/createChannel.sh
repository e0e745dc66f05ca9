#!/usr/bin/env bash
# Create the application channel with the channel participation API (no system channel) and join every peer.
#
# Usage: network/scripts/createChannel.sh [-c CHANNEL_NAME]      (default from network.env: gec-channel)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

while getopts "c:h" opt; do
  case "${opt}" in
    c) CHANNEL_NAME="${OPTARG}" ;;
    h | *)
      sed -n '2,4p' "$0"
      exit 0
      ;;
  esac
done

require_fabric_binaries peer osnadmin configtxgen
[[ -f "${BUILD_DIR}/configtx/configtx.yaml" ]] || fatal "no rendered configtx.yaml: run network/scripts/up.sh first"
# GEC_EXTERNAL_NODES=1: the nodes are run by someone else (docker/compose.yaml), not by up.sh.
if [[ "${GEC_EXTERNAL_NODES:-0}" != 1 ]]; then
  for i in $(orderers); do
    is_running "orderer${i}" || fatal "orderer${i} is not running: run network/scripts/up.sh first"
  done
fi

BLOCK="${ARTIFACTS_DIR}/${CHANNEL_NAME}.block"
mkdir -p "${ARTIFACTS_DIR}" "${LOG_DIR}"
if [[ ! -f "${BLOCK}" ]]; then
  log "creating the genesis block of ${CHANNEL_NAME}"
  configtxgen -configPath "${BUILD_DIR}/configtx" -profile GecChannel -channelID "${CHANNEL_NAME}" \
    -outputBlock "${BLOCK}"
fi

# Every orderer joins with the genesis block, which names them all as the channel's Raft consenters.
for i in $(orderers); do
  if osnadmin_as "${i}" channel list --channelID "${CHANNEL_NAME}" 2>/dev/null | grep -q '"status": *"active"'; then
    log "$(orderer_var "${i}" NAME) already serves ${CHANNEL_NAME}"
  else
    log "joining $(orderer_var "${i}" NAME) to ${CHANNEL_NAME}"
    osnadmin_as "${i}" channel join --channelID "${CHANNEL_NAME}" --config-block "${BLOCK}" >/dev/null
  fi
done

# The Raft cluster elects a leader after the joins: until it has, nothing is ordered.
if [[ "${GEC_EXTERNAL_NODES:-0}" != 1 ]]; then
  wait_for_raft_leader || fatal "the orderers elected no leader for ${CHANNEL_NAME}"
  log "orderer$(raft_leader) leads ${CHANNEL_NAME} ($(orderer_count) orderer(s))"
fi
# Peers retry the join for a while.
for org in "${ORGS[@]}"; do
  set_admin_env "${org}"
  if peer channel list 2>/dev/null | grep -qx "${CHANNEL_NAME}"; then
    log "$(org_msp "${org}") peer already joined ${CHANNEL_NAME}"
    continue
  fi
  attempt=1
  until peer channel join -b "${BLOCK}" >>"${LOG_DIR}/channel-join.log" 2>&1; do
    ((attempt++ < 10)) || fatal "$(org_msp "${org}") peer could not join ${CHANNEL_NAME}; see ${LOG_DIR}/channel-join.log"
    sleep 2
  done
  log "$(org_msp "${org}") peer joined ${CHANNEL_NAME}"
done
# Anchor peers are in the genesis block (configtx.yaml AnchorPeers): no anchor-peer update needed.
log "channel ${CHANNEL_NAME} ready; next: network/scripts/deployCC.sh"
