#!/usr/bin/env bash
# Set the Fabric CLI environment of an organisation's admin, for `peer chaincode query/invoke` and
# `peer lifecycle ...`:
#
#   source network/scripts/admin.sh grid|trading|regulator|<a member added by addOrg.sh, e.g. trading2>
#
# Exports FABRIC_CFG_PATH, CORE_PEER_* (the org's admin MSP with its gec.role, its peer, TLS), PATH (with
# FABRIC_BIN), and for invokes: ORDERER_ADDRESS, ORDERER_CA, ORDERER_HOSTNAME, CHANNEL_NAME, CHAINCODE_NAME,
# and GEC_ENDORSERS (the --peerAddresses/--tlsRootCertFiles pairs of the grid and a trading center, which
# the chaincode policy needs), so that a write is:
#   peer chaincode invoke -o "$ORDERER_ADDRESS" --ordererTLSHostnameOverride "$ORDERER_HOSTNAME" --tls \
#     --cafile "$ORDERER_CA" -C "$CHANNEL_NAME" -n "$CHAINCODE_NAME" "${GEC_ENDORSERS[@]}" --waitForEvent \
#     -c '{"Args":["Contract:Function","arg1"]}'
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  echo "source this file: source network/scripts/admin.sh grid|trading|regulator" >&2
  exit 1
fi
if (($# != 1)); then
  echo "usage: source network/scripts/admin.sh grid|trading|regulator" >&2
  return 1
fi
# lib.sh defines helpers and reads network.env; fatal() would exit the caller's shell: the checks here return.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if ! printf '%s\n' "${ORGS[@]}" | grep -qx -- "$1"; then
  echo "unknown organisation '$1' (members: ${ORGS[*]})" >&2
  return 1
fi
if [[ -n "${FABRIC_BIN:-}" ]]; then
  case ":${PATH}:" in *":${FABRIC_BIN}:"*) ;; *) export PATH="${FABRIC_BIN}:${PATH}" ;; esac
fi
if [[ ! -d "${ORGS_DIR}/peerOrganizations/$(org_domain "$1")/users" ]]; then
  echo "no identities in ${ORGS_DIR}: run network/scripts/up.sh first" >&2
  return 1
fi
set_admin_env "$1"
export CHANNEL_NAME CHAINCODE_NAME
# shellcheck disable=SC2034  # used by the shell that sourced this file
GEC_ENDORSERS=()
while IFS= read -r arg; do GEC_ENDORSERS+=("${arg}"); done < <(endorser_args)
unset arg
echo "Fabric CLI: ${CORE_PEER_LOCALMSPID} admin (${CORE_PEER_MSPCONFIGPATH}) on ${CORE_PEER_ADDRESS}, channel ${CHANNEL_NAME}" >&2
