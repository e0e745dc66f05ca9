#!/usr/bin/env bash
# An organisation's crypto material from its own Fabric CA, as fabric-samples' test-network does with -ca
# (addOrg3/fabric-ca/registerEnroll.sh): each founding member's (up.sh, GEC_CRYPTO=fabric-ca) and a member's
# added with addOrg.sh:
#   - renders its fabric-ca-server configuration (network/fabric-ca/fabric-ca-server-config.yaml, CA_<ORG>_* in
#     network.env) into organizations/fabric-ca/<org>/ and starts the server (TLS on, registrar secret random);
#   - registers and enrolls
#       peer0                  type peer: its local MSP, and its TLS certificate (profile tls) for its name,
#                              localhost and 127.0.0.1
#       admin                  type admin, gec.role=admin:ecert: the organisation's administrator (channel updates,
#                              chaincode approvals, consortium registrations); never an application's identity
#       <client>               type client, gec.role=<role>:ecert: the application identity of its consortium role
#                              (trading for trading-center, platform for energy-platform, regulator for regulator)
#   - writes the organisation's MSP (the channel configuration's: CA and TLS CA certificates, NodeOUs), the Fabric
#     CLI MSP folders users/<name>@<domain>/msp, and the gateway's wallet entries
#     organizations/wallet/<mspId>/<name>/{cert.pem,key.pem}.
# Idempotent: an identity already registered is not registered again, an MSP already enrolled is kept.
#
# Usage: network/scripts/registerEnroll.sh ORG        (ORG: the short name in network.env, e.g. trading2)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# == 1)) || fatal "usage: registerEnroll.sh ORG"
ORG="$1"
require_fabric_binaries fabric-ca-server fabric-ca-client
require_tools openssl

MSP_ID="$(org_msp "${ORG}")"
DOMAIN="$(org_domain "${ORG}")"
ORG_DIR="$(org_dir "${ORG}")"
CA_HOME="$(ca_home "${ORG}")"
CA_NAME="$(ca_name "${ORG}")"
CA_CERT="${CA_HOME}/ca-cert.pem"
read -r CLIENT_NAME CLIENT_ROLE <<<"$(org_client "${ORG}")"
PEER_NAME="$(peer_var "${ORG}" NAME)"

# ---- the CA server ---------------------------------------------------------------------------------
if [[ -d "${ORG_DIR}/msp" && ! -f "${CA_HOME}/fabric-ca-server-config.yaml" ]]; then
  fatal "${ORG_DIR} holds material from cryptogen, not from a Fabric CA: run network/scripts/clean.sh first, or keep GEC_CRYPTO=cryptogen"
fi
if [[ ! -f "${CA_HOME}/fabric-ca-server-config.yaml" ]]; then
  log "configuring the Fabric CA of ${MSP_ID} in ${CA_HOME}"
  mkdir -p "${CA_HOME}"
  chmod 700 "${CA_HOME}"
  # shellcheck disable=SC2034  # the values are read by render_template through their names
  (
    CA_PORT="$(ca_var "${ORG}" PORT)"
    CA_HOST="$(ca_var "${ORG}" HOST)"
    CA_OPERATIONS_PORT="$(ca_var "${ORG}" OPERATIONS_PORT)"
    CA_LISTEN_ADDRESS="${GEC_LISTEN_ADDRESS}"
    CA_REGISTRAR_SECRET="$(ca_secret "${ORG}" registrar)"
    ORG_DOMAIN="${DOMAIN}"
    umask 077
    render_template "${NETWORK_DIR}/fabric-ca/fabric-ca-server-config.yaml" "${CA_HOME}/fabric-ca-server-config.yaml" \
      CA_PORT CA_HOST CA_OPERATIONS_PORT CA_LISTEN_ADDRESS CA_NAME CA_REGISTRAR_SECRET ORG_DOMAIN
  )
fi
start_ca "${ORG}"
[[ -f "${CA_CERT}" ]] || fatal "the Fabric CA of ${ORG} has no ${CA_CERT}; see ${LOG_DIR}/ca-${ORG}.log"

# fabric-ca-client as the identity whose client home is $1 (registrar's commands) or anyone (enroll -M).
ca_client() {
  local home="$1"
  shift
  FABRIC_CA_CLIENT_HOME="${home}" fabric-ca-client "$@" --caname "${CA_NAME}" --tls.certfiles "${CA_CERT}" \
    >>"${LOG_DIR}/ca-client-${ORG}.log" 2>&1
}
enroll_url() {
  printf 'https://%s:%s@%s:%s\n' "$1" "$(ca_secret "${ORG}" "$1")" "$(ca_var "${ORG}" HOST)" "$(ca_var "${ORG}" PORT)"
}

# NodeOUs: the identity's role (client, peer, admin, orderer) is the OU that Fabric CA puts in the subject
# from the registered type, under the CA certificate that the MSP folder holds.
write_node_ous() {
  local msp="$1" cacert
  cacert="$(cd "${msp}" && find cacerts -type f | head -n 1)"
  cat >"${msp}/config.yaml" <<YAML
NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: ${cacert}
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: ${cacert}
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: ${cacert}
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: ${cacert}
    OrganizationalUnitIdentifier: orderer
YAML
}

# ---- the registrar ---------------------------------------------------------------------------------
REGISTRAR_HOME="${CA_HOME}/registrar"
if [[ ! -f "${REGISTRAR_HOME}/msp/signcerts/cert.pem" ]]; then
  log "enrolling the registrar of ${CA_NAME}"
  ca_client "${REGISTRAR_HOME}" enroll -u "$(enroll_url registrar)" --csr.names "C=CN,O=${DOMAIN}" ||
    fatal "enrolling the registrar failed; see ${LOG_DIR}/ca-client-${ORG}.log"
fi

# register NAME TYPE [ATTRS]
register() {
  local name="$1" type="$2" attrs="${3:-}" args=()
  if ca_client "${REGISTRAR_HOME}" identity list --id "${name}"; then
    return 0
  fi
  args=(register --id.name "${name}" --id.secret "$(ca_secret "${ORG}" "${name}")" --id.type "${type}")
  [[ -z "${attrs}" ]] || args+=(--id.attrs "${attrs}")
  ca_client "${REGISTRAR_HOME}" "${args[@]}" || fatal "registering ${name} failed; see ${LOG_DIR}/ca-client-${ORG}.log"
  log "registered ${MSP_ID}/${name} (type ${type}${attrs:+, ${attrs}})"
}

# enroll NAME TYPE ATTRS MSP_DIR [fabric-ca-client enroll options]: registered first when it is not yet.
enroll() {
  local name="$1" type="$2" attrs="$3" msp="$4"
  shift 4
  if [[ -f "${msp}/signcerts/cert.pem" ]]; then return 0; fi
  register "${name}" "${type}" "${attrs}"
  rm -rf "${msp}"
  ca_client "${REGISTRAR_HOME}" enroll -u "$(enroll_url "${name}")" -M "${msp}" --csr.names "C=CN,O=${DOMAIN}" "$@" ||
    fatal "enrolling ${name} failed; see ${LOG_DIR}/ca-client-${ORG}.log"
  # fabric-ca-client names the key after its SKI; a fixed name, as cryptogen's, for the other scripts.
  mv "${msp}/keystore/"*_sk "${msp}/keystore/priv_sk"
  chmod 600 "${msp}/keystore/priv_sk"
}

# ---- the organisation's MSP (what the channel configuration holds) ---------------------------------------
mkdir -p "${ORG_DIR}/msp/cacerts" "${ORG_DIR}/msp/tlscacerts" "${ORG_DIR}/ca" "${ORG_DIR}/tlsca"
cp "${CA_CERT}" "${ORG_DIR}/msp/cacerts/ca.crt"
# One CA issues the organisation's enrollment and TLS certificates.
cp "${CA_CERT}" "${ORG_DIR}/msp/tlscacerts/ca.crt"
cp "${CA_CERT}" "${ORG_DIR}/ca/ca.${DOMAIN}-cert.pem"
cp "${CA_CERT}" "${ORG_DIR}/tlsca/tlsca.${DOMAIN}-cert.pem"
write_node_ous "${ORG_DIR}/msp"

# ---- the peer --------------------------------------------------------------------------------------
PEER_HOME="$(peer_dir "${ORG}")"
enroll "${PEER_NAME}" peer '' "${PEER_HOME}/msp"
write_node_ous "${PEER_HOME}/msp"
if [[ ! -f "${PEER_HOME}/tls/server.crt" ]]; then
  hosts=("${PEER_NAME}" localhost 127.0.0.1)
  [[ "$(peer_var "${ORG}" HOST)" == 127.0.0.1 ]] || hosts+=("$(peer_var "${ORG}" HOST)")
  enroll "${PEER_NAME}" peer '' "${PEER_HOME}/tls-enroll" --enrollment.profile tls \
    --csr.hosts "$(
      IFS=,
      printf '%s' "${hosts[*]}"
    )"
  mkdir -p "${PEER_HOME}/tls"
  cp "${PEER_HOME}/tls-enroll/signcerts/cert.pem" "${PEER_HOME}/tls/server.crt"
  cp "${PEER_HOME}/tls-enroll/keystore/priv_sk" "${PEER_HOME}/tls/server.key"
  cp "${PEER_HOME}/tls-enroll/tlscacerts/"* "${PEER_HOME}/tls/ca.crt"
  chmod 600 "${PEER_HOME}/tls/server.key"
  rm -rf "${PEER_HOME}/tls-enroll"
  log "enrolled ${PEER_NAME} (MSP and TLS)"
fi

# ---- the admin and the application identity ---------------------------------------------------------
for identity in "admin admin gec.role=admin:ecert" "${CLIENT_NAME} client gec.role=${CLIENT_ROLE}:ecert"; do
  read -r name type attrs <<<"${identity}"
  user_msp="${ORG_DIR}/users/${name}@${DOMAIN}/msp"
  wallet="${WALLET_DIR}/${MSP_ID}/${name}"
  if [[ ! -f "${user_msp}/signcerts/cert.pem" ]]; then
    enroll "${name}" "${type}" "${attrs}" "${user_msp}"
    write_node_ous "${user_msp}"
    mkdir -p "${user_msp}/tlscacerts"
    cp "${CA_CERT}" "${user_msp}/tlscacerts/ca.crt"
    log "enrolled ${MSP_ID}/${name}"
  fi
  if [[ ! -f "${wallet}/cert.pem" ]]; then
    mkdir -p "${wallet}"
    cp "${user_msp}/signcerts/cert.pem" "${wallet}/cert.pem"
    cp "${user_msp}/keystore/priv_sk" "${wallet}/key.pem"
    chmod 600 "${wallet}/key.pem"
  fi
done
log "${MSP_ID}: crypto material from ${CA_NAME} in ${ORG_DIR}"
