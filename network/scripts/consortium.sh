#!/usr/bin/env bash
# The consortium's members on chain: the chaincode's organisation registry (contract `consortium`), which the
# chaincode's rules follow (MSP id -> role: PLATFORM_OPERATOR, TRADING_CENTER, REGULATOR).
#   - InitConsortium with the founding members (GridMSP, TradingCenterMSP, RegulatorMSP: <ORG>_ROLE and
#     <ORG>_ORG_NAME in network.env), submitted once by the grid's admin, when GetConsortium says the registry
#     is not initialised;
#   - then every member added by addOrg.sh (or the ORGs given) that is not ACTIVE yet: ProposeOrganisation by
#     the admin of the first active member, ApproveOrganisation by the admins of the other active members until a
#     strict majority of the active members has approved (the proposer counts); the chaincode counts.
# Idempotent; deployCC.sh and addOrg.sh run it. The calls are made with each organisation's admin identity
# (gec.role admin) through the Fabric CLI, endorsed by the peers the chaincode policy needs.
# When the committed chaincode has no `consortium` contract (before the registry), it says so and does nothing.
#
# Usage: network/scripts/consortium.sh [ORG...]
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_fabric_binaries peer
require_tools jq

if ! chaincode_has grid consortium InitConsortium; then
  log "the committed chaincode has no consortium registry (consortium:InitConsortium): members not registered on chain"
  exit 0
fi

consortium() {
  cc_query grid consortium:GetConsortium 2>>"${LOG_DIR}/consortium.log" ||
    fatal "consortium:GetConsortium failed; see ${LOG_DIR}/consortium.log"
}
# status MSP_ID: the member's status in the registry, empty when it is not there.
status_of() {
  consortium | jq -r --arg m "$1" '.organisations[] | select(.mspId == $m) | .status // "ACTIVE"'
}
# invoke ORG FUNCTION JSON: as ORG's admin; the CLI's answer in ANSWER and the log, its status returned.
invoke() {
  local status=0
  ANSWER="$(cc_invoke "$@")" || status=$?
  printf '%s\n' "${ANSWER}" >>"${LOG_DIR}/consortium.log"
  return "${status}"
}

# ---- the founding members, once ------------------------------------------------------------------
if [[ "$(consortium | jq -r '.initialised')" != true ]]; then
  founding="$(for org in "${FOUNDING_ORGS[@]}"; do
    jq -cn --arg m "$(org_msp "${org}")" --arg r "$(org_role "${org}")" --arg n "$(org_var "${org}" ORG_NAME)" \
      '{mspId: $m, role: $r, name: $n}'
  done | jq -cs '{organisations: .}')"
  invoke grid consortium:InitConsortium "${founding}" ||
    fatal "consortium:InitConsortium failed; see ${LOG_DIR}/consortium.log"
  log "consortium initialised on chain: $(jq -r '[.organisations[] | "\(.mspId) \(.role)"] | join(", ")' <<<"${founding}")"
fi

# ---- members added later -------------------------------------------------------------------------
to_register=("$@")
if (($# == 0)); then
  while IFS= read -r org; do to_register+=("${org}"); done < <(joined_orgs)
fi
for org in ${to_register[@]+"${to_register[@]}"}; do
  msp="$(org_msp "${org}")"
  [[ "$(status_of "${msp}")" == ACTIVE ]] && continue
  # The active members whose admin is here, in network.env's order (the founding members first): the first
  # proposes, the others approve until the majority is reached.
  active="$(consortium | jq -r '.organisations[] | select((.status // "ACTIVE") == "ACTIVE") | .mspId')"
  voters=()
  for voter in "${ORGS[@]}"; do
    if grep -qx -- "$(org_msp "${voter}")" <<<"${active}"; then voters+=("${voter}"); fi
  done
  ((${#voters[@]} > 0)) || fatal "no admin identity of an active member here to propose ${msp}"
  request="$(jq -cn --arg m "${msp}" --arg r "$(org_role "${org}")" --arg n "$(org_var "${org}" ORG_NAME)" \
    '{mspId: $m, role: $r, name: $n}')"
  if [[ -z "$(status_of "${msp}")" ]]; then
    invoke "${voters[0]}" consortium:ProposeOrganisation "${request}" ||
      fatal "consortium:ProposeOrganisation of ${msp} by $(org_msp "${voters[0]}") failed; see ${LOG_DIR}/consortium.log"
    log "${msp} ($(org_role "${org}")) proposed by $(org_msp "${voters[0]}")"
  fi
  for voter in "${voters[@]:1}"; do
    [[ "$(status_of "${msp}")" == ACTIVE ]] && break
    if invoke "${voter}" consortium:ApproveOrganisation "$(jq -cn --arg m "${msp}" '{mspId: $m}')"; then
      log "${msp} approved by $(org_msp "${voter}")"
    elif grep -q 'ORGANISATION_ALREADY_APPROVED' <<<"${ANSWER}"; then
      log "${msp} was already approved by $(org_msp "${voter}")"
    else
      fatal "consortium:ApproveOrganisation of ${msp} by $(org_msp "${voter}") failed; see ${LOG_DIR}/consortium.log"
    fi
  done
  status="$(status_of "${msp}")"
  [[ "${status}" == ACTIVE ]] ||
    fatal "${msp} is ${status:-not registered} after the approvals of ${#voters[@]} active members; see ${LOG_DIR}/consortium.log"
  log "${msp} is an ACTIVE member of the consortium on chain"
done
