#!/usr/bin/env bash
# Stop everything and remove all generated state: ledgers, logs, channel artifacts, crypto material,
# wallet and connection profiles. The next up.sh starts a brand-new network.
#
# Usage: network/scripts/clean.sh
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"${NETWORK_DIR}/scripts/down.sh"
# Only the two generated folders, always under network/.
rm -rf "${NETWORK_DIR:?}/build" "${NETWORK_DIR:?}/organizations"
log "removed ${NETWORK_DIR}/build and ${NETWORK_DIR}/organizations"
