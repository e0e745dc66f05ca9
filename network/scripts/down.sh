#!/usr/bin/env bash
# Stop the chaincode servers, the peers, the Fabric CAs and the orderers started by up.sh, deployCC.sh and
# addOrg.sh. Ledgers and crypto material stay: up.sh brings the same network back. clean.sh removes everything.
#
# Usage: network/scripts/down.sh
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for server in $(chaincode_servers); do stop_process "${server}"; done
stop_process chaincode # the single server of earlier versions of these scripts
# Every peer and CA with a pid file: also a member's that addOrg.sh started before it stopped half-way.
for peer in $(started_processes peer0-); do stop_process "${peer}"; done
for ca in $(started_processes ca-); do stop_process "${ca}"; done
for orderer in $(started_processes orderer); do stop_process "${orderer}"; done
log "network down (data kept in ${BUILD_DIR}; network/scripts/clean.sh removes it)"
