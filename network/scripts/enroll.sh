#!/usr/bin/env bash
# Issue the application identities that carry the `gec.role` attribute, from each organisation's cryptogen CA:
# used by up.sh when GEC_CRYPTO=cryptogen (and --generate-only). By default (GEC_CRYPTO=fabric-ca) each
# organisation's own Fabric CA issues them instead (registerEnroll.sh).
#
# Why: the chaincode reads the caller's role with ClientIdentity.getAttributeValue('gec.role'), which Fabric CA
# puts in certificate extension 1.2.3.4.5.6.7.8.1 as the JSON {"attrs":{"gec.role":"..."}}. cryptogen cannot
# add attributes, so this script signs the certificates with the CA that cryptogen made for the organisation,
# writing exactly that extension (and the NodeOU in the subject OU, so the MSP classifies admin/client).
# With Fabric CA: `fabric-ca-client register --id.attrs 'gec.role=admin:ecert'` then `enroll` (registerEnroll.sh).
#
# Output per identity:
#   organizations/peerOrganizations/<domain>/users/<name>@<domain>/msp   (Fabric CLI MSP folder)
#   organizations/wallet/<mspId>/<name>/{cert.pem,key.pem}             (the gateway's wallet)
#
# Usage: enroll.sh            issue the consortium's identities (idempotent)
#        enroll.sh ORG NAME NODE_OU GEC_ROLE   issue one (ORG: grid|trading|regulator; NODE_OU: admin|client)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_tools openssl

VALIDITY_DAYS="${GEC_IDENTITY_VALIDITY_DAYS:-825}"

issue_identity() {
  local org="$1" name="$2" node_ou="$3" gec_role="$4"
  local domain msp_id org_dir ca_dir ca_cert ca_key user_dir msp wallet work attrs_hex
  domain="$(org_domain "${org}")"
  msp_id="$(org_msp "${org}")"
  org_dir="${ORGS_DIR}/peerOrganizations/${domain}"
  ca_dir="${org_dir}/ca"
  ca_cert="${ca_dir}/ca.${domain}-cert.pem"
  ca_key="${ca_dir}/priv_sk"
  [[ -f "${ca_cert}" && -f "${ca_key}" ]] ||
    fatal "no cryptogen CA key for ${domain} in ${ca_dir}: enroll.sh is for GEC_CRYPTO=cryptogen; with Fabric CA (the default) register identities with fabric-ca-client (network/scripts/registerEnroll.sh)"
  case "${node_ou}" in admin | client) ;; *) fatal "NODE_OU must be admin or client, got '${node_ou}'" ;; esac

  user_dir="${org_dir}/users/${name}@${domain}"
  msp="${user_dir}/msp"
  wallet="${WALLET_DIR}/${msp_id}/${name}"
  if [[ -f "${wallet}/cert.pem" && -f "${msp}/signcerts/cert.pem" ]]; then
    return 0
  fi
  rm -rf "${user_dir}" "${wallet}"
  mkdir -p "${msp}/signcerts" "${msp}/keystore" "${msp}/cacerts" "${msp}/tlscacerts" "${wallet}"
  work="$(mktemp -d)"
  # shellcheck disable=SC2064  # expand now: work is local
  trap "rm -rf '${work}'" RETURN

  # The attribute extension's value is the raw JSON bytes (Fabric CA's encoding), hence DER:<hex>.
  attrs_hex="$(printf '{"attrs":{"gec.role":"%s","hf.EnrollmentID":"%s","hf.Type":"%s"}}' \
    "${gec_role}" "${name}" "${node_ou}" | od -An -v -tx1 | tr -d ' \n')"
  cat >"${work}/ext.cnf" <<CNF
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
C = CN
O = ${domain}
OU = ${node_ou}
CN = ${name}@${domain}
[ ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
1.2.3.4.5.6.7.8.1 = DER:${attrs_hex}
CNF
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "${work}/key.pem" 2>/dev/null
  openssl req -new -key "${work}/key.pem" -config "${work}/ext.cnf" -out "${work}/req.csr"
  openssl x509 -req -in "${work}/req.csr" -CA "${ca_cert}" -CAkey "${ca_key}" -CAcreateserial \
    -CAserial "${work}/ca.srl" -days "${VALIDITY_DAYS}" -sha256 -extfile "${work}/ext.cnf" -extensions ext \
    -out "${work}/cert.pem" 2>/dev/null

  cp "${work}/cert.pem" "${msp}/signcerts/cert.pem"
  cp "${work}/key.pem" "${msp}/keystore/priv_sk"
  cp "${ca_cert}" "${msp}/cacerts/"
  cp "${org_dir}/msp/tlscacerts/"* "${msp}/tlscacerts/"
  cp "${org_dir}/msp/config.yaml" "${msp}/config.yaml"
  cp "${work}/cert.pem" "${wallet}/cert.pem"
  cp "${work}/key.pem" "${wallet}/key.pem"
  chmod 600 "${msp}/keystore/priv_sk" "${wallet}/key.pem"
  log "issued ${msp_id}/${name} (OU ${node_ou}, gec.role ${gec_role})"
}

if (($# == 4)); then
  issue_identity "$@"
elif (($# == 0)); then
  # Each founding member's admin (gec.role admin: administration only, the regulator's included) and its
  # application client (lib.sh org_client: platform/energy-platform, trading/trading-center,
  # regulator/regulator), as the embedded ledger's DEFAULT_ORGS. A member added with addOrg.sh gets the same
  # two from its own Fabric CA (registerEnroll.sh).
  for org in "${FOUNDING_ORGS[@]}"; do
    issue_identity "${org}" admin admin admin
    read -r client_name client_role <<<"$(org_client "${org}")"
    issue_identity "${org}" "${client_name}" client "${client_role}"
  done
else
  fatal "usage: enroll.sh [ORG NAME NODE_OU GEC_ROLE]"
fi
