#!/usr/bin/env bash
# Write the gateways' connection material (called by up.sh and addOrg.sh; safe to re-run):
#   organizations/peerOrganizations/<domain>/connection-<org>.json   common connection profile per member
#   build/wallets/<mspId>/<mspId>/<name>/{cert.pem,key.pem}          one wallet per member: only its own identities
#                                                                     (its client, and its admin unless a regulator)
#   build/gateway-<mspId>.env                                         the env of that member's gateway
#                                                                     (GEC_ORGANISATION=<mspId>, its wallet, its peer)
#   build/gateway.env                                                 development convenience: one gateway holding
#                                                                     every member's keys (GEC_ORGANISATION=all);
#                                                                     the conformance suite and `npm start` use it
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

peer_entry() {
  local org="$1"
  cat <<JSON
    "$(peer_var "${org}" NAME)": {
      "url": "grpcs://$(peer_var "${org}" HOST):$(peer_var "${org}" PORT)",
      "tlsCACerts": { "pem": "$(pem_json "$(peer_tls_ca "${org}")")" },
      "grpcOptions": { "ssl-target-name-override": "$(peer_var "${org}" NAME)", "hostnameOverride": "$(peer_var "${org}" NAME)" }
    }
JSON
}

org_entry() {
  local org="$1"
  cat <<JSON
    "$(org_msp "${org}")": {
      "mspid": "$(org_msp "${org}")",
      "peers": ["$(peer_var "${org}" NAME)"]
    }
JSON
}

# The channel's orderers (ORDERER_COUNT), as the profile's "orderers" entries and as a list of names.
orderer_entries() {
  local i first=true
  for i in $(orderers); do
    [[ "${first}" == true ]] || printf ',\n'
    first=false
    cat <<JSON
    "$(orderer_var "${i}" NAME)": {
      "url": "grpcs://$(orderer_var "${i}" HOST):$(orderer_var "${i}" PORT)",
      "tlsCACerts": { "pem": "$(pem_json "$(orderer_tls_ca)")" },
      "grpcOptions": { "ssl-target-name-override": "$(orderer_var "${i}" NAME)", "hostnameOverride": "$(orderer_var "${i}" NAME)" }
    }
JSON
  done
  printf '\n'
}
orderer_names() {
  local i
  for i in $(orderers); do printf '"%s"\n' "$(orderer_var "${i}" NAME)"; done | paste -sd, -
}

channel_peer_entry() {
  local org="$1" endorsing=true
  [[ "$(org_role "${org}")" != REGULATOR ]] || endorsing=false
  printf '        "%s": { "endorsingPeer": %s, "chaincodeQuery": true, "ledgerQuery": true, "eventSource": true }' \
    "$(peer_var "${org}" NAME)" "${endorsing}"
}

# Entries of every member, comma-separated: each ENTRY_FN ORG.
entries() {
  local fn="$1" org first=true
  for org in "${ORGS[@]}"; do
    [[ "${first}" == true ]] || printf ',\n'
    first=false
    "${fn}" "${org}"
  done
  printf '\n'
}

profile_path() {
  printf '%s\n' "$(org_dir "$1")/connection-$1.json"
}

write_profile() {
  local client_org="$1" file
  file="$(profile_path "${client_org}")"
  {
    cat <<JSON
{
  "name": "gec-${client_org}",
  "version": "1.0.0",
  "client": {
    "organization": "$(org_msp "${client_org}")",
    "connection": { "timeout": { "peer": { "endorser": "300" }, "orderer": "300" } }
  },
  "channels": {
    "${CHANNEL_NAME}": {
      "orderers": [$(orderer_names)],
      "peers": {
$(entries channel_peer_entry)
      }
    }
  },
  "organizations": {
$(entries org_entry)
  },
  "orderers": {
$(orderer_entries)
  },
  "peers": {
$(entries peer_entry)
  }
}
JSON
  } >"${file}"
  log "wrote ${file}"
}

# The FABRIC_* settings of a gateway on ORG's peer with the wallet WALLET (and service identity IDENTITY).
fabric_settings() {
  local org="$1" wallet="$2" identity="${3:-}"
  cat <<ENV
LEDGER=fabric-gateway
FABRIC_CHANNEL=${CHANNEL_NAME}
FABRIC_CHAINCODE=${CHAINCODE_NAME}
FABRIC_WALLET=${wallet}
FABRIC_PEER_ENDPOINT=$(peer_var "${org}" HOST):$(peer_var "${org}" PORT)
FABRIC_PEER_HOST_ALIAS=$(peer_var "${org}" NAME)
FABRIC_TLS_CERT=$(peer_tls_ca "${org}")
# For LEDGER=fabric-network (legacy SDK, discovery through this profile):
FABRIC_CONNECTION_PROFILE=$(profile_path "${org}")
ENV
  [[ -z "${identity}" ]] || printf 'FABRIC_SERVICE_IDENTITY=%s\n' "${identity}"
}

for org in "${ORGS[@]}"; do write_profile "${org}"; done

# ---- one wallet and one gateway env per member ----------------------------------------------------
# A member's gateway holds its own identities only, and only those it signs with: its application client
# (gec.role trading-center, energy-platform or regulator) for the API roles it serves, and its admin (gec.role
# admin) for admin API keys; the regulator never writes, so its gateway holds its client alone. The layout is the
# gateway's wallet layout (<wallet>/<mspId>/<name>/), so build/wallets/<mspId>/ holds one folder, <mspId>/.
mkdir -p "${BUILD_DIR}/wallets"
for org in "${ORGS[@]}"; do
  msp="$(org_msp "${org}")"
  names=("$(org_client_name "${org}")")
  [[ "$(org_role "${org}")" == REGULATOR ]] || names+=(admin)
  wallet="${BUILD_DIR}/wallets/${msp}"
  rm -rf "${wallet}"
  mkdir -p "${wallet}/${msp}"
  for name in "${names[@]}"; do
    [[ -f "${WALLET_DIR}/${msp}/${name}/cert.pem" ]] || fatal "no identity ${msp}/${name} in ${WALLET_DIR}"
    cp -R "${WALLET_DIR}/${msp}/${name}" "${wallet}/${msp}/${name}"
  done
  chmod 700 "${wallet}"
  {
    cat <<ENV
# Generated by network/scripts/connectionProfiles.sh: the gateway of ${msp} ($(org_role "${org}")) alone. Its wallet
# holds only ${msp}'s identities; it submits through its own peer and signs only for ${msp}.
# Use: set -a; source network/build/gateway-${msp}.env; set +a; npm start   (with its own DATABASE_URL and PORT)
GEC_ORGANISATION=${msp}
ENV
    fabric_settings "${org}" "${wallet}" "${msp}/$(org_client_name "${org}")"
  } >"${BUILD_DIR}/gateway-${msp}.env"
  log "wrote ${wallet} and ${BUILD_DIR}/gateway-${msp}.env"
done

# ---- the development convenience: one gateway with every member's keys -------------------------------
{
  cat <<ENV
# Generated by network/scripts/connectionProfiles.sh. DEVELOPMENT CONVENIENCE ONLY: one gateway holding the
# identities of every member (GEC_ORGANISATION=all), on the grid's peer; the conformance suite uses it. A
# consortium runs one gateway per member with build/gateway-<mspId>.env instead: each signs only for itself.
# Use: set -a; source network/build/gateway.env; set +a; npm start
GEC_ORGANISATION=all
ENV
  # No FABRIC_SERVICE_IDENTITY: a gateway picks its own organisation's client (GridMSP/platform for all), and
  # one started for another organisation from this file (README) must not inherit the grid's.
  fabric_settings grid "${WALLET_DIR}"
} >"${BUILD_DIR}/gateway.env"
log "wrote ${BUILD_DIR}/gateway.env (development: every member's identities)"
