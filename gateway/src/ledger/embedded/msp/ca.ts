/**
 * The embedded CA: one self-signed ECDSA P-256 root per organisation, enrolling identities whose certificates look
 * like Fabric CA's (subject `C=CN, ST=Beijing, O=<domain>, OU=<role>, CN=<name>`, NodeOU roles, attribute extension).
 *
 * Everything is persisted as PEM under `dir` (private keys PKCS#8, mode 0600) so that a restart reuses the same
 * identities:
 *
 *   <dir>/<mspId>/org.json                        { mspId, domain }
 *   <dir>/<mspId>/ca/ca-cert.pem, ca/ca-key.pem
 *   <dir>/<mspId>/identities/<name>/cert.pem, key.pem
 *
 * Each organisation and each identity is written into a temporary directory and renamed into place, so a crash never
 * leaves half an identity behind and two processes racing on a fresh directory end up with the same (first) files.
 */
// @peculiar/x509 (through tsyringe) needs the Reflect metadata polyfill before it loads.
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  X509Certificate as NodeX509Certificate,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { FABRIC_CERT_ATTR_OID, nodeRoleOf, readCertificateInfo } from './certificate';
import { p1363ToLowS } from './ecdsa';
import { LocalSigningIdentity, type SigningIdentity } from './identity';
import { DEFAULT_ORGS, isNodeRole, type NodeRole, type OrgSpec } from './types';

type WebCrypto = webcrypto.Crypto;
type PeculiarCrypto = Parameters<typeof x509.X509CertificateGenerator.create>[1];

x509.cryptoProvider.set(webcrypto as unknown as NonNullable<PeculiarCrypto>);

/**
 * A WebCrypto whose ECDSA signatures are low-S: certificate signatures then look like those of Fabric CA (Go BCCSP
 * always signs low-S) and Fabric's MSP has nothing to "sanitize".
 */
const subtle = webcrypto.subtle;
const lowSSubtle = new Proxy(subtle, {
  get(target, prop) {
    if (prop === 'sign') {
      return async (
        algorithm: webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams,
        key: webcrypto.CryptoKey,
        data: webcrypto.BufferSource,
      ): Promise<ArrayBuffer> => {
        const signature = await target.sign(algorithm, key, data);
        const name = typeof algorithm === 'string' ? algorithm : algorithm.name;
        if (name.toUpperCase() !== 'ECDSA') return signature;
        const low = p1363ToLowS(new Uint8Array(signature));
        return low.buffer.slice(low.byteOffset, low.byteOffset + low.byteLength) as ArrayBuffer;
      };
    }
    const value: unknown = Reflect.get(target, prop, target);
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
  },
});
const lowSCrypto = {
  subtle: lowSSubtle,
  getRandomValues: webcrypto.getRandomValues.bind(webcrypto),
  randomUUID: webcrypto.randomUUID.bind(webcrypto),
} as WebCrypto as unknown as NonNullable<PeculiarCrypto>;

const EC_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' };
const ROOT_VALIDITY_YEARS = 20;
const IDENTITY_VALIDITY_YEARS = 10;
/** Fabric CA back-dates certificates by 5 minutes to tolerate clock skew. */
const BACKDATE_MS = 5 * 60 * 1000;
const KEY_FILE_MODE = 0o600;

const MSP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const DOMAIN_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

interface OrgState {
  mspId: string;
  domain: string;
  dir: string;
  caCertPem: string;
  caCert: x509.X509Certificate;
  caKey: webcrypto.CryptoKey;
  caSki: string;
  caNotAfter: Date;
  identities: Map<string, LocalSigningIdentity>;
  pending: Map<string, Promise<LocalSigningIdentity>>;
}

export class EmbeddedCa {
  private constructor(
    private readonly dir: string,
    private readonly orgs: Map<string, OrgState>,
  ) {}

  /**
   * Opens (creating on first use) the CA state under `dir`, then makes sure every organisation and identity of
   * `orgs` exists. Organisations and identities already on disk but absent from `orgs` are kept and loaded.
   */
  static async open(dir: string, orgs: OrgSpec[] = DEFAULT_ORGS): Promise<EmbeddedCa> {
    validateSpecs(orgs);
    const root = path.resolve(dir);
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    const states = new Map<string, OrgState>();
    for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      if (!fs.existsSync(path.join(root, entry.name, 'org.json'))) continue;
      const state = await loadOrg(path.join(root, entry.name));
      states.set(state.mspId, state);
    }
    for (const spec of orgs) {
      const existing = states.get(spec.mspId);
      if (existing) {
        if (existing.domain !== spec.domain) {
          throw new Error(
            `EmbeddedCa: ${spec.mspId} exists in ${root} with domain ${existing.domain}, not ${spec.domain}` +
              ' (delete the directory to start over)',
          );
        }
      } else {
        states.set(spec.mspId, await createOrg(root, spec.mspId, spec.domain));
      }
    }
    const ca = new EmbeddedCa(root, states);
    for (const spec of orgs) {
      for (const id of spec.identities) await ca.enroll(spec.mspId, id.name, id.role, id.attrs);
    }
    return ca;
  }

  /** The directory holding the CA state. */
  get directory(): string {
    return this.dir;
  }

  identity(mspId: string, name: string): SigningIdentity {
    const org = this.orgs.get(mspId);
    if (!org) throw new Error(`EmbeddedCa: unknown identity ${mspId}/${name}: no MSP "${mspId}"`);
    const identity = org.identities.get(name);
    if (!identity) {
      throw new Error(
        `EmbeddedCa: unknown identity ${mspId}/${name} (enrolled in ${mspId}: ${[...org.identities.keys()].join(', ') || 'none'})`,
      );
    }
    return identity;
  }

  /**
   * Enrolls `name` in `mspId` and persists it. Idempotent: an existing identity with the same role and attributes is
   * returned as is; one with a different role or attributes is refused (certificates are not silently re-issued).
   */
  async enroll(
    mspId: string,
    name: string,
    role: NodeRole,
    attrs: Record<string, string> = {},
  ): Promise<SigningIdentity> {
    const org = this.orgs.get(mspId);
    if (!org) throw new Error(`EmbeddedCa: cannot enroll ${mspId}/${name}: unknown MSP "${mspId}"`);
    validateIdentity(mspId, name, role, attrs);
    const existing = org.identities.get(name) ?? (await org.pending.get(name));
    if (existing) {
      checkSameEnrollment(existing, role, attrs);
      return existing;
    }
    const pending = issueIdentity(org, name, role, { ...attrs });
    org.pending.set(name, pending);
    try {
      const identity = await pending;
      org.identities.set(name, identity);
      return identity;
    } finally {
      org.pending.delete(name);
    }
  }

  /**
   * A development CA for an organisation that joins later (a second trading center): its own root, and its
   * identities enrolled as Fabric CA would issue them (NodeOU role, `gec.role` attribute). Idempotent like
   * `open`: an organisation already on disk is reused (same domain), its identities enrolled if missing. Returns
   * the root CA certificate the channel update carries. Creating the CA admits nothing: only a channel update
   * signed by a majority of the members makes the channel trust it.
   */
  async addOrganisation(spec: OrgSpec): Promise<string> {
    validateSpecs([spec]);
    let org = this.orgs.get(spec.mspId);
    if (org && org.domain !== spec.domain) {
      throw new Error(
        `EmbeddedCa: ${spec.mspId} exists in ${this.dir} with domain ${org.domain}, not ${spec.domain}`,
      );
    }
    if (!org) {
      org = await createOrg(this.dir, spec.mspId, spec.domain);
      this.orgs.set(spec.mspId, org);
    }
    for (const id of spec.identities) await this.enroll(spec.mspId, id.name, id.role, id.attrs);
    return org.caCertPem;
  }

  /** mspId → root CA certificate PEM, as a channel configuration carries them. */
  rootCertificates(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const org of this.orgs.values()) out[org.mspId] = org.caCertPem;
    return out;
  }

  /** Every enrolled identity, sorted by mspId then name. */
  listIdentities(): Array<{ mspId: string; name: string; role: NodeRole; attrs: Record<string, string> }> {
    const out: Array<{ mspId: string; name: string; role: NodeRole; attrs: Record<string, string> }> = [];
    for (const org of this.orgs.values()) {
      for (const id of org.identities.values()) {
        out.push({ mspId: id.mspId, name: id.name, role: id.role, attrs: { ...id.attrs } });
      }
    }
    return out.sort((a, b) => compare(a.mspId, b.mspId) || compare(a.name, b.name));
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------------

function validateSpecs(orgs: OrgSpec[]): void {
  const seen = new Set<string>();
  for (const org of orgs) {
    if (!MSP_ID_PATTERN.test(org.mspId)) throw new Error(`EmbeddedCa: invalid mspId "${org.mspId}"`);
    if (seen.has(org.mspId)) throw new Error(`EmbeddedCa: duplicate mspId "${org.mspId}"`);
    seen.add(org.mspId);
    if (!DOMAIN_PATTERN.test(org.domain))
      throw new Error(`EmbeddedCa: invalid domain "${org.domain}" for ${org.mspId}`);
    const names = new Set<string>();
    for (const id of org.identities) {
      validateIdentity(org.mspId, id.name, id.role, id.attrs ?? {});
      if (names.has(id.name)) throw new Error(`EmbeddedCa: duplicate identity ${org.mspId}/${id.name}`);
      names.add(id.name);
    }
  }
}

function validateIdentity(mspId: string, name: string, role: unknown, attrs: Record<string, string>): void {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new Error(`EmbeddedCa: invalid identity name "${String(name)}" in ${mspId}`);
  }
  if (!isNodeRole(role)) {
    throw new Error(
      `EmbeddedCa: invalid role "${String(role)}" for ${mspId}/${name} (client, peer, admin, orderer)`,
    );
  }
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith('hf.'))
      throw new Error(`EmbeddedCa: attribute "${key}" of ${mspId}/${name} is reserved`);
    if (key.length === 0 || typeof value !== 'string') {
      throw new Error(
        `EmbeddedCa: attribute "${key}" of ${mspId}/${name} must be a non-empty name with a string value`,
      );
    }
  }
}

function checkSameEnrollment(
  existing: LocalSigningIdentity,
  role: NodeRole,
  attrs: Record<string, string>,
): void {
  const a = Object.entries(existing.attrs).sort(([x], [y]) => compare(x, y));
  const b = Object.entries(attrs).sort(([x], [y]) => compare(x, y));
  if (existing.role !== role || JSON.stringify(a) !== JSON.stringify(b)) {
    throw new Error(
      `EmbeddedCa: ${existing.mspId}/${existing.name} is already enrolled as ${existing.role} ` +
        `${JSON.stringify(existing.attrs)}, not ${role} ${JSON.stringify(attrs)} (delete its directory to re-enroll)`,
    );
  }
}

function randomSerial(): string {
  const bytes = randomBytes(20);
  bytes[0] &= 0x7f; // positive
  if (bytes[0] === 0) bytes[0] = 0x01; // minimal DER, fixed length
  return bytes.toString('hex');
}

/** Truncated to whole seconds: X.509 times have no fractions. */
function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

function addYears(date: Date, years: number): Date {
  const d = new Date(date.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
}

function certificatePem(cert: x509.X509Certificate): string {
  return cert.toString('pem').replace(/\r\n/g, '\n').trim() + '\n';
}

async function exportPrivateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
}

async function importSigningKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return subtle.importKey('pkcs8', der, EC_KEY_ALGORITHM, false, ['sign']);
}

/** Checks that `privateKey` is the key of the certificate. */
function checkKeyPair(certPem: string, privateKey: KeyObject, what: string): void {
  const fromKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const fromCert = new NodeX509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  if (!fromKey.equals(fromCert))
    throw new Error(`EmbeddedCa: the key of ${what} does not match its certificate`);
}

function writeKeyFile(file: string, pem: string): void {
  fs.writeFileSync(file, pem, { mode: KEY_FILE_MODE });
  fs.chmodSync(file, KEY_FILE_MODE);
}

/** Renames a fully written temporary directory into place; false when another writer got there first. */
function publishDir(tmp: string, target: string): boolean {
  try {
    fs.renameSync(tmp, target);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    fs.rmSync(tmp, { recursive: true, force: true });
    if (code === 'EEXIST' || code === 'ENOTEMPTY') return false;
    throw err;
  }
}

function orgSubject(domain: string): x509.JsonName {
  return [{ C: ['CN'] }, { ST: ['Beijing'] }, { O: [domain] }, { CN: [`ca.${domain}`] }];
}

function identitySubject(domain: string, role: NodeRole, name: string): x509.JsonName {
  return [{ C: ['CN'] }, { ST: ['Beijing'] }, { O: [domain] }, { OU: [role] }, { CN: [name] }];
}

async function createOrg(root: string, mspId: string, domain: string): Promise<OrgState> {
  const keys = (await subtle.generateKey(EC_KEY_ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const notBefore = wholeSeconds(Date.now() - BACKDATE_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: orgSubject(domain),
      notBefore,
      notAfter: addYears(notBefore, ROOT_VALIDITY_YEARS),
      signingAlgorithm: SIGNING_ALGORITHM,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, lowSCrypto),
      ],
    },
    lowSCrypto,
  );
  const tmp = fs.mkdtempSync(path.join(root, `.tmp-${mspId}-`));
  fs.writeFileSync(path.join(tmp, 'org.json'), JSON.stringify({ mspId, domain }, null, 2) + '\n');
  fs.mkdirSync(path.join(tmp, 'ca'), { mode: 0o700 });
  fs.mkdirSync(path.join(tmp, 'identities'), { mode: 0o700 });
  fs.writeFileSync(path.join(tmp, 'ca', 'ca-cert.pem'), certificatePem(cert));
  writeKeyFile(path.join(tmp, 'ca', 'ca-key.pem'), await exportPrivateKeyPem(keys.privateKey));
  publishDir(tmp, path.join(root, mspId));
  return loadOrg(path.join(root, mspId));
}

async function loadOrg(dir: string): Promise<OrgState> {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'org.json'), 'utf8')) as {
    mspId?: unknown;
    domain?: unknown;
  };
  if (typeof meta.mspId !== 'string' || typeof meta.domain !== 'string') {
    throw new Error(`EmbeddedCa: ${path.join(dir, 'org.json')} is malformed`);
  }
  const mspId = meta.mspId;
  const caCertPem = fs.readFileSync(path.join(dir, 'ca', 'ca-cert.pem'), 'utf8');
  const caKeyPem = fs.readFileSync(path.join(dir, 'ca', 'ca-key.pem'), 'utf8');
  checkKeyPair(caCertPem, createPrivateKey(caKeyPem), `the ${mspId} CA`);
  const caCert = new x509.X509Certificate(caCertPem);
  const caSki = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  if (!caSki) throw new Error(`EmbeddedCa: the ${mspId} CA certificate has no subject key identifier`);
  const org: OrgState = {
    mspId,
    domain: meta.domain,
    dir,
    caCertPem,
    caCert,
    caKey: await importSigningKey(caKeyPem),
    caSki,
    caNotAfter: caCert.notAfter,
    identities: new Map(),
    pending: new Map(),
  };
  const caNode = new NodeX509Certificate(caCertPem);
  const idsDir = path.join(dir, 'identities');
  fs.mkdirSync(idsDir, { recursive: true, mode: 0o700 });
  for (const entry of fs.readdirSync(idsDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    org.identities.set(entry.name, loadIdentity(org, caNode, path.join(idsDir, entry.name), entry.name));
  }
  return org;
}

function loadIdentity(
  org: OrgState,
  caNode: NodeX509Certificate,
  dir: string,
  name: string,
): LocalSigningIdentity {
  const certPem = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  const key = createPrivateKey(fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'));
  const what = `${org.mspId}/${name}`;
  checkKeyPair(certPem, key, what);
  const node = new NodeX509Certificate(certPem);
  if (!node.checkIssued(caNode) || !node.verify(caNode.publicKey)) {
    throw new Error(`EmbeddedCa: the certificate of ${what} was not issued by the ${org.mspId} CA`);
  }
  const info = readCertificateInfo(certPem);
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(info.attrs)) if (!k.startsWith('hf.')) attrs[k] = v;
  return new LocalSigningIdentity(org.mspId, name, nodeRoleOf(info), Object.freeze(attrs), certPem, key);
}

async function issueIdentity(
  org: OrgState,
  name: string,
  role: NodeRole,
  attrs: Record<string, string>,
): Promise<LocalSigningIdentity> {
  const keys = (await subtle.generateKey(EC_KEY_ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const publicKey = keys.publicKey;
  const now = Date.now();
  const notBefore = wholeSeconds(now - BACKDATE_MS);
  const wanted = addYears(wholeSeconds(now), IDENTITY_VALIDITY_YEARS);
  const notAfter = wanted.getTime() > org.caNotAfter.getTime() ? org.caNotAfter : wanted;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(publicKey, false, lowSCrypto),
    new x509.AuthorityKeyIdentifierExtension(org.caSki, false),
  ];
  if (Object.keys(attrs).length > 0) {
    const json = JSON.stringify({
      attrs: { 'hf.Affiliation': '', 'hf.EnrollmentID': name, 'hf.Type': role, ...attrs },
    });
    extensions.push(
      new x509.Extension(FABRIC_CERT_ATTR_OID, false, new Uint8Array(Buffer.from(json, 'utf8'))),
    );
  }
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: identitySubject(org.domain, role, name),
      issuer: org.caCert.subjectName,
      notBefore,
      notAfter,
      signingAlgorithm: SIGNING_ALGORITHM,
      publicKey,
      signingKey: org.caKey,
      extensions,
    },
    lowSCrypto,
  );
  const certPem = certificatePem(cert);
  const keyPem = await exportPrivateKeyPem(keys.privateKey);

  const idsDir = path.join(org.dir, 'identities');
  const tmp = fs.mkdtempSync(path.join(idsDir, `.tmp-${name}-`));
  fs.writeFileSync(path.join(tmp, 'cert.pem'), certPem);
  writeKeyFile(path.join(tmp, 'key.pem'), keyPem);
  publishDir(tmp, path.join(idsDir, name));
  // Load back what is on disk (ours, or another process's if it won the race).
  const identity = loadIdentity(org, new NodeX509Certificate(org.caCertPem), path.join(idsDir, name), name);
  checkSameEnrollment(identity, role, attrs);
  return identity;
}
