#!/usr/bin/env bash
# What runs and how it is: each node's process and health (/healthz on the operations port), the channel height
# on every peer, the committed chaincode definition and its server. Exits 1 when something is down.
#
# Usage: network/scripts/status.sh
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_fabric_binaries peer
require_tools curl jq

problems=0
row() { printf '  %-28s %s\n' "$1" "$2"; }
health() { # health HOST:PORT: the node's /healthz status line
  local body
  body="$(curl -s --max-time 3 "http://$1/healthz" 2>/dev/null)" || {
    printf 'no answer'
    return 1
  }
  if grep -q '"status":"OK"' <<<"${body}"; then printf 'OK'; else
    printf '%s' "${body}"
    return 1
  fi
}

# node_row NAME OPERATIONS_ADDRESS: a node started here, running with its /healthz, or DOWN (a problem).
node_row() {
  local h
  if is_running "$1"; then
    h="$(health "$2")" || problems=$((problems + 1))
    row "$1" "running (pid $(cat "${PID_DIR}/$1.pid")), /healthz ${h}"
  else
    row "$1" "DOWN"
    problems=$((problems + 1))
  fi
}

echo "processes and health"
for i in $(orderers); do
  node_row "orderer${i}" "${GEC_LISTEN_ADDRESS}:$(orderer_var "${i}" OPERATIONS_PORT)"
done
for org in "${ORGS[@]}"; do
  node_row "peer0-${org}" "${GEC_LISTEN_ADDRESS}:$(peer_var "${org}" OPERATIONS_PORT)"
done
# Each member's Fabric CA (GEC_CRYPTO=fabric-ca, and the members addOrg.sh added).
for org in "${ORGS[@]}"; do
  if [[ -f "$(ca_home "${org}")/fabric-ca-server-config.yaml" ]]; then
    node_row "ca-${org}" "${GEC_LISTEN_ADDRESS}:$(ca_var "${org}" OPERATIONS_PORT)"
  fi
done
live_port="$(live_field port)"
for server in $(chaincode_servers); do
  if is_running "${server}"; then
    row "${server}" "running (pid $(cat "${PID_DIR}/${server}.pid"))$([[ "${server}" == "chaincode-${live_port}" ]] && printf ', live')"
  else
    row "${server}" "DOWN$([[ "${server}" == "chaincode-${live_port}" ]] && printf ' (the committed package: run up.sh)')"
    [[ "${server}" == "chaincode-${live_port}" ]] && problems=$((problems + 1))
  fi
done

echo "channel ${CHANNEL_NAME}"
# The Raft cluster as its leader sees it: a majority of the consenters must be active for anything to be ordered.
if leader="$(raft_leader)"; then
  row "raft" "leader orderer${leader}, $(raft_metric "${leader}" active_nodes) of $(raft_metric "${leader}" cluster_size) consenters active"
else
  row "raft" "NO LEADER: nothing is ordered (a majority of the $(orderer_count) orderer(s) must run)"
  problems=$((problems + 1))
fi
for org in "${ORGS[@]}"; do
  is_running "peer0-${org}" || continue
  set_admin_env "${org}"
  info="$(peer channel getinfo -c "${CHANNEL_NAME}" 2>/dev/null | sed -n 's/^Blockchain info: //p')"
  if [[ -n "${info}" ]]; then
    row "$(org_msp "${org}")" "height $(sed -n 's/.*"height":\([0-9]*\).*/\1/p' <<<"${info}")"
  else
    row "$(org_msp "${org}")" "not joined to ${CHANNEL_NAME}"
    problems=$((problems + 1))
  fi
done

echo "chaincode ${CHAINCODE_NAME}"
if is_running peer0-grid; then
  set_admin_env grid
  committed="$(peer lifecycle chaincode querycommitted -C "${CHANNEL_NAME}" -n "${CHAINCODE_NAME}" -O json 2>/dev/null |
    jq -r '"version \(.version), sequence \(.sequence), approved by \(.approvals | to_entries | map(select(.value) | .key) | join(", "))"' 2>/dev/null)"
  row committed "${committed:-none}"
  if [[ -f "${CC_LIVE_FILE}" ]]; then row "endorsement policy" "$(live_field policy)"; fi
  [[ -f "${CC_LIVE_FILE}" ]] && row "live package" "$(live_field package_id) on port ${live_port}"
  # Each member's peer connects with its own TLS certificate; the server accepts these members' TLS CAs.
  [[ -f "${CC_LIVE_FILE}" ]] && row "chaincode clients" "the peers of $(live_field clients)"
fi

if ((problems > 0)); then
  echo "${problems} problem(s)"
  exit 1
fi
echo "all up"
