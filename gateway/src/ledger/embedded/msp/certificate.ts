/**
 * Reading identity certificates the way chaincode sees them.
 *
 * fabric-shim's `ClientIdentity` parses the creator certificate with `@fidm/x509`; we load that very module through
 * fabric-shim's own resolution so that the identity id (`x509::<subject>::<issuer>`), the attributes and the OU we
 * derive are byte-for-byte what `ctx.clientIdentity` will report inside the chaincode.
 */
import { createRequire } from 'node:module';
import { isNodeRole, type NodeRole } from './types';

/** Fabric CA's attribute extension: extnValue content is the raw UTF-8 JSON `{"attrs":{...}}`. */
export const FABRIC_CERT_ATTR_OID = '1.2.3.4.5.6.7.8.1';

interface FidmAttribute {
  oid: string;
  shortName: string;
  value: string;
}
interface FidmName {
  attributes: FidmAttribute[];
}
interface FidmExtension {
  oid: string;
  value: Buffer;
}
interface FidmCertificate {
  subject: FidmName;
  issuer: FidmName;
  extensions: FidmExtension[];
  validFrom: Date;
  validTo: Date;
}
interface FidmModule {
  Certificate: { fromPEM(data: Buffer): FidmCertificate };
}

let fidm: FidmModule | undefined;
function fidmX509(): FidmModule {
  if (!fidm) {
    const shimRequire = createRequire(require.resolve('fabric-shim'));
    fidm = shimRequire('@fidm/x509') as FidmModule;
  }
  return fidm;
}

export interface CertificateInfo {
  /** `x509::<subject DN>::<issuer DN>` exactly as fabric-shim's `ClientIdentity.getID()` formats it. */
  id: string;
  /** Subject OU values, in order. */
  organizationalUnits: string[];
  /** Fabric CA attributes from extension 1.2.3.4.5.6.7.8.1 (empty when absent). */
  attrs: Record<string, string>;
  notBefore: Date;
  notAfter: Date;
}

/** fabric-shim's `formatDN` (including its replacement of only the first `/` of a value). */
function formatDN(name: FidmName): string {
  return name.attributes
    .map((attribute) => `/${attribute.shortName}=${String(attribute.value).replace('/', '\\/')}`)
    .join('');
}

function parseAttrs(ext: FidmExtension | undefined): Record<string, string> {
  if (!ext) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(ext.value.toString('utf8'));
  } catch {
    throw new Error(`attribute extension ${FABRIC_CERT_ATTR_OID} is not JSON`);
  }
  const attrs = (parsed as { attrs?: unknown } | null)?.attrs;
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) {
    throw new Error(`attribute extension ${FABRIC_CERT_ATTR_OID} has no "attrs" object`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v !== 'string')
      throw new Error(`attribute "${k}" of extension ${FABRIC_CERT_ATTR_OID} is not a string`);
    out[k] = v;
  }
  return out;
}

/** Parses an identity certificate (PEM) as fabric-shim does. Throws when @fidm/x509 cannot read it. */
export function readCertificateInfo(pem: string): CertificateInfo {
  let cert: FidmCertificate;
  try {
    cert = fidmX509().Certificate.fromPEM(Buffer.from(pem, 'utf8'));
  } catch (err) {
    throw new Error(`certificate cannot be parsed: ${(err as Error).message}`);
  }
  return {
    id: `x509::${formatDN(cert.subject)}::${formatDN(cert.issuer)}`,
    organizationalUnits: cert.subject.attributes
      .filter((a) => a.shortName === 'OU')
      .map((a) => String(a.value)),
    attrs: parseAttrs(cert.extensions.find((e) => e.oid === FABRIC_CERT_ATTR_OID)),
    notBefore: cert.validFrom,
    notAfter: cert.validTo,
  };
}

/**
 * The NodeOU role of a certificate: exactly one subject OU must be a NodeOU (`client`, `peer`, `admin`, `orderer`),
 * as Fabric's MSP requires when NodeOUs are enabled.
 */
export function nodeRoleOf(info: CertificateInfo): NodeRole {
  const roles = info.organizationalUnits.filter(isNodeRole);
  if (roles.length !== 1) {
    throw new Error(
      roles.length === 0
        ? 'certificate has no NodeOU role (subject OU must be one of client, peer, admin, orderer)'
        : `certificate has several NodeOU roles (${roles.join(', ')})`,
    );
  }
  return roles[0];
}

/** Splits a PEM bundle into its `CERTIFICATE` blocks (normalised, each ending with a newline). */
export function splitPemCertificates(pem: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => b.replace(/\r\n/g, '\n').trim() + '\n');
}
