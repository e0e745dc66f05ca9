import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  X509Certificate,
  createPrivateKey,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
  webcrypto,
} from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { ClientIdentity, type ChaincodeStub } from 'fabric-shim';
import {
  DEFAULT_ORGS,
  EmbeddedCa,
  MspVerificationError,
  MspVerifier,
  serializeIdentity,
  type OrgSpec,
  type SigningIdentity,
} from '../../src/ledger/embedded/msp';
import fc from 'fast-check';
import {
  P256_HALF_ORDER,
  P256_ORDER,
  bigIntToBytes,
  decodeDerSignature,
  encodeDerSignature,
  p1363ToLowSDer,
} from '../../src/ledger/embedded/msp/ecdsa';

x509.cryptoProvider.set(webcrypto as never);

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gec-msp-'));
}

function clientIdentityOf(id: SigningIdentity): ClientIdentity {
  const stub = {
    getCreator: () => ({ mspid: id.mspId, idBytes: Buffer.from(id.certificatePem, 'utf8') }),
    getChannelID: () => 'gec',
    getTxID: () => 'tx1',
  };
  return new ClientIdentity(stub as unknown as ChaincodeStub);
}

function expectRefused(fn: () => unknown, reason: string, message?: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(MspVerificationError);
  expect((error as MspVerificationError).reason).toBe(reason);
  if (message) expect((error as Error).message).toMatch(message);
}

/** A certificate made outside the embedded CA, signed by `issuerKey` (self-signed when omitted). */
async function makeCert(opts: {
  subject: x509.JsonName;
  issuer?: x509.Name;
  issuerKey?: webcrypto.CryptoKey;
  ca?: boolean;
}): Promise<{ pem: string; keys: webcrypto.CryptoKeyPair }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const extensions = [
    new x509.BasicConstraintsExtension(opts.ca ?? false, undefined, true),
    new x509.KeyUsagesExtension(
      opts.ca
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature
        : x509.KeyUsageFlags.digitalSignature,
      true,
    ),
  ];
  const cert = opts.issuerKey
    ? await x509.X509CertificateGenerator.create({
        subject: opts.subject,
        issuer: opts.issuer,
        publicKey: keys.publicKey,
        signingKey: opts.issuerKey,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        extensions,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({
        name: opts.subject,
        keys,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        extensions,
      });
  return { pem: cert.toString('pem'), keys };
}

describe('embedded MSP', () => {
  let dir: string;
  let ca: EmbeddedCa;
  let verifier: MspVerifier;

  beforeAll(async () => {
    dir = tmpDir();
    ca = await EmbeddedCa.open(dir);
    verifier = new MspVerifier(ca.rootCertificates());
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('EmbeddedCa', () => {
    it('enrolls the default consortium', () => {
      expect(Object.keys(ca.rootCertificates()).sort()).toEqual(
        ['GridMSP', 'OrdererMSP', 'RegulatorMSP', 'TradingCenterMSP'].sort(),
      );
      const listed = ca.listIdentities();
      const expected = DEFAULT_ORGS.flatMap((o) =>
        o.identities.map((i) => ({ mspId: o.mspId, name: i.name, role: i.role, attrs: i.attrs ?? {} })),
      );
      expect(listed).toHaveLength(expected.length);
      expect(listed).toEqual(expect.arrayContaining(expected));
    });

    it('issues Fabric-CA-like certificates', () => {
      const grid = ca.identity('GridMSP', 'platform');
      const cert = new X509Certificate(grid.certificatePem);
      const root = new X509Certificate(ca.rootCertificates().GridMSP);
      expect(cert.subject.split('\n')).toEqual([
        'C=CN',
        'ST=Beijing',
        'O=grid.gec.example',
        'OU=client',
        'CN=platform',
      ]);
      expect(cert.issuer).toBe(root.subject);
      expect(root.subject).toContain('CN=ca.grid.gec.example');
      expect(root.subject).toContain('O=grid.gec.example');
      expect(cert.ca).toBe(false);
      expect(root.ca).toBe(true);
      expect(cert.verify(root.publicKey)).toBe(true);
      expect(cert.checkIssued(root)).toBe(true);
      expect(parseInt(cert.serialNumber.slice(0, 2), 16)).toBeLessThan(0x80);

      const parsed = new x509.X509Certificate(grid.certificatePem);
      const bc = parsed.getExtension(x509.BasicConstraintsExtension);
      expect(bc?.critical).toBe(true);
      expect(bc?.ca).toBe(false);
      const ku = parsed.getExtension(x509.KeyUsagesExtension);
      expect(ku?.critical).toBe(true);
      expect(ku?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
      const ski = parsed.getExtension(x509.SubjectKeyIdentifierExtension);
      const aki = parsed.getExtension(x509.AuthorityKeyIdentifierExtension);
      const rootSki = new x509.X509Certificate(ca.rootCertificates().GridMSP).getExtension(
        x509.SubjectKeyIdentifierExtension,
      );
      expect(ski?.keyId).toMatch(/^[0-9a-f]+$/);
      expect(aki?.keyId).toBe(rootSki?.keyId);
      const attrExt = parsed.extensions.find((e) => e.type === '1.2.3.4.5.6.7.8.1');
      expect(attrExt?.critical).toBe(false);
      expect(JSON.parse(Buffer.from(attrExt!.value).toString('utf8'))).toEqual({
        attrs: {
          'hf.Affiliation': '',
          'hf.EnrollmentID': 'platform',
          'hf.Type': 'client',
          'gec.role': 'energy-platform',
        },
      });
      // No attribute extension without attributes.
      const peer = new x509.X509Certificate(ca.identity('GridMSP', 'peer0').certificatePem);
      expect(peer.extensions.find((e) => e.type === '1.2.3.4.5.6.7.8.1')).toBeUndefined();

      const rootParsed = new x509.X509Certificate(ca.rootCertificates().GridMSP);
      const rootKu = rootParsed.getExtension(x509.KeyUsagesExtension);
      expect(rootKu?.critical).toBe(true);
      expect(rootKu?.usages).toBe(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
      );
      expect(rootParsed.getExtension(x509.BasicConstraintsExtension)?.critical).toBe(true);
    });

    it('signs certificates with low-S', () => {
      const pems = [
        ...ca.listIdentities().map(({ mspId, name }) => ca.identity(mspId, name).certificatePem),
        ...Object.values(ca.rootCertificates()),
      ];
      for (const pem of pems) {
        // @peculiar/x509 exposes the DER ECDSA-Sig-Value of the certificate.
        const der = Buffer.from(new x509.X509Certificate(pem).signature);
        expect(decodeDerSignature(der).s <= P256_HALF_ORDER).toBe(true);
      }
    });

    it('throws a clear error for an unknown identity', () => {
      expect(() => ca.identity('GridMSP', 'nobody')).toThrow(/GridMSP\/nobody/);
      expect(() => ca.identity('NopeMSP', 'admin')).toThrow(/NopeMSP\/admin/);
    });

    it('serializes as msp.SerializedIdentity', () => {
      const id = ca.identity('RegulatorMSP', 'regulator');
      expect(Buffer.from(id.serialize())).toEqual(
        Buffer.from(serializeIdentity(id.mspId, id.certificatePem)),
      );
    });
  });

  describe('fabric-shim ClientIdentity reads our certificates', () => {
    it('gives MSP id, id, attributes', () => {
      const platform = ca.identity('GridMSP', 'platform');
      const ci = clientIdentityOf(platform);
      expect(ci.getMSPID()).toBe('GridMSP');
      expect(ci.getID()).toBe(
        'x509::/C=CN/ST=Beijing/O=grid.gec.example/OU=client/CN=platform' +
          '::/C=CN/ST=Beijing/O=grid.gec.example/CN=ca.grid.gec.example',
      );
      expect(ci.getAttributeValue('gec.role')).toBe('energy-platform');
      expect(ci.getAttributeValue('hf.EnrollmentID')).toBe('platform');
      expect(ci.getAttributeValue('hf.Type')).toBe('client');
      expect(ci.assertAttributeValue('gec.role', 'energy-platform')).toBe(true);
      expect(ci.assertAttributeValue('gec.role', 'regulator')).toBe(false);
      expect(ci.getAttributeValue('missing')).toBeNull();

      const peer = clientIdentityOf(ca.identity('TradingCenterMSP', 'peer0'));
      expect(peer.getAttributeValue('gec.role')).toBeNull();
      expect(peer.getID()).toMatch(
        /^x509::\/C=CN\/ST=Beijing\/O=tradingcenter\.gec\.example\/OU=peer\/CN=peer0::/,
      );
    });

    it('agrees with the verifier on id and attributes', () => {
      for (const { mspId, name } of ca.listIdentities()) {
        const id = ca.identity(mspId, name);
        const ci = clientIdentityOf(id);
        const verified = verifier.deserialize(id.serialize());
        expect(verified.id).toBe(ci.getID());
        expect(verified.mspId).toBe(ci.getMSPID());
        expect(verified.role).toBe(id.role);
        expect(verified.attrs['gec.role'] ?? null).toBe(ci.getAttributeValue('gec.role'));
      }
    });
  });

  describe('signatures', () => {
    const message = Buffer.from('a proposal to be endorsed');

    it('turns any r ‖ s into the strict low-S DER the BigInt definition gives', () => {
      const scalar = fc.oneof(
        fc.bigInt({ min: 1n, max: P256_ORDER - 1n }),
        // The edges: tiny values (leading zero bytes), the half order and its neighbours, n − 1.
        fc.constantFrom(
          1n,
          0x7fn,
          0x80n,
          P256_HALF_ORDER - 1n,
          P256_HALF_ORDER,
          P256_HALF_ORDER + 1n,
          P256_ORDER - 1n,
        ),
      );
      fc.assert(
        fc.property(scalar, scalar, (r, s) => {
          const raw = Buffer.concat([bigIntToBytes(r, 32), bigIntToBytes(s, 32)]);
          const expected = encodeDerSignature(r, s > P256_HALF_ORDER ? P256_ORDER - s : s);
          expect(p1363ToLowSDer(raw)).toEqual(expected);
          expect(decodeDerSignature(p1363ToLowSDer(raw)).s <= P256_HALF_ORDER).toBe(true);
        }),
        { numRuns: 2000 },
      );
    });

    it('verifies a valid signature and refuses a flipped message byte', () => {
      const id = ca.identity('GridMSP', 'admin');
      const sig = id.sign(message);
      const verified = verifier.verify(id.serialize(), message, sig);
      expect(verified).toMatchObject({ mspId: 'GridMSP', role: 'admin', attrs: { 'gec.role': 'admin' } });
      const tampered = Buffer.from(message);
      tampered[3] ^= 0x01;
      expectRefused(() => verifier.verify(id.serialize(), tampered, sig), 'BAD_SIGNATURE');
      // A signature by another identity over the same message.
      const other = ca.identity('GridMSP', 'platform').sign(message);
      expectRefused(() => verifier.verify(id.serialize(), message, other), 'BAD_SIGNATURE');
      // Garbage and trailing bytes.
      expectRefused(
        () => verifier.verify(id.serialize(), message, new Uint8Array([1, 2, 3])),
        'BAD_SIGNATURE',
      );
      expectRefused(
        () => verifier.verify(id.serialize(), message, Buffer.concat([Buffer.from(sig), Buffer.from([0])])),
        'BAD_SIGNATURE',
      );
    });

    it('refuses the high-S twin of a valid signature', () => {
      const id = ca.identity('TradingCenterMSP', 'trading');
      const sig = id.sign(message);
      const { r, s } = decodeDerSignature(sig);
      const highS = encodeDerSignature(r, P256_ORDER - s);
      // The twin is mathematically valid ECDSA: node accepts it ...
      const key = new X509Certificate(id.certificatePem).publicKey;
      expect(nodeVerify('sha256', message, { key, dsaEncoding: 'der' }, highS)).toBe(true);
      // ... Fabric (and we) do not.
      expectRefused(() => verifier.verify(id.serialize(), message, highS), 'HIGH_S', /high-S/);
    });

    it('never emits high-S', () => {
      const id = ca.identity('OrdererMSP', 'orderer0');
      for (let i = 0; i < 500; i++) {
        const m = Buffer.from(`message ${i}`);
        const sig = id.sign(m);
        expect(decodeDerSignature(sig).s <= P256_HALF_ORDER).toBe(true);
        verifier.verify(id.serialize(), m, sig);
      }
    });
  });

  describe('identity validation', () => {
    it('refuses a certificate presented under the wrong mspId', () => {
      const grid = ca.identity('GridMSP', 'platform');
      const forged = serializeIdentity('RegulatorMSP', grid.certificatePem);
      expectRefused(() => verifier.deserialize(forged), 'UNTRUSTED_CERTIFICATE', /RegulatorMSP/);
      expectRefused(
        () => verifier.verify(forged, Buffer.from('x'), grid.sign(Buffer.from('x'))),
        'UNTRUSTED_CERTIFICATE',
      );
    });

    it('refuses an unknown mspId', () => {
      const grid = ca.identity('GridMSP', 'platform');
      expectRefused(
        () => verifier.deserialize(serializeIdentity('EvilMSP', grid.certificatePem)),
        'UNKNOWN_MSP',
        /EvilMSP/,
      );
      const partial = new MspVerifier({ OrdererMSP: ca.rootCertificates().OrdererMSP });
      expectRefused(() => partial.deserialize(grid.serialize()), 'UNKNOWN_MSP', /GridMSP/);
    });

    it('refuses a self-made certificate with the same subject but another key', async () => {
      const subject: x509.JsonName = [
        { C: ['CN'] },
        { ST: ['Beijing'] },
        { O: ['grid.gec.example'] },
        { OU: ['admin'] },
        { CN: ['admin'] },
      ];
      const rogueCa = await makeCert({
        subject: [
          { C: ['CN'] },
          { ST: ['Beijing'] },
          { O: ['grid.gec.example'] },
          { CN: ['ca.grid.gec.example'] },
        ],
        ca: true,
      });
      // Same subject and issuer name as the real one, signed by an impostor CA.
      const fake = await makeCert({
        subject,
        issuer: new x509.X509Certificate(ca.rootCertificates().GridMSP).subjectName,
        issuerKey: rogueCa.keys.privateKey,
      });
      const serialized = serializeIdentity('GridMSP', fake.pem);
      expectRefused(() => verifier.deserialize(serialized), 'UNTRUSTED_CERTIFICATE');
      // Self-signed with the same subject.
      const selfSigned = await makeCert({ subject });
      expectRefused(
        () => verifier.deserialize(serializeIdentity('GridMSP', selfSigned.pem)),
        'UNTRUSTED_CERTIFICATE',
      );
      // The real certificate with a signature made by another key.
      const real = ca.identity('GridMSP', 'admin');
      const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const m = Buffer.from('m');
      const sig = nodeSign('sha256', m, { key: otherKey, dsaEncoding: 'der' });
      const { r, s } = decodeDerSignature(sig);
      const low = s > P256_HALF_ORDER ? encodeDerSignature(r, P256_ORDER - s) : sig;
      expectRefused(() => verifier.verify(real.serialize(), m, low), 'BAD_SIGNATURE');
    });

    it('refuses a CA certificate used as an identity', () => {
      expectRefused(
        () => verifier.deserialize(serializeIdentity('GridMSP', ca.rootCertificates().GridMSP)),
        'CA_CERTIFICATE',
        /CA certificate/,
      );
    });

    it('refuses malformed input', () => {
      expectRefused(() => verifier.deserialize(new Uint8Array([0xff, 0xff, 0xff])), 'MALFORMED');
      expectRefused(
        () => verifier.deserialize(serializeIdentity('GridMSP', 'not a certificate')),
        'MALFORMED',
      );
      expectRefused(
        () => verifier.deserialize(serializeIdentity('', ca.identity('GridMSP', 'admin').certificatePem)),
        'MALFORMED',
      );
      const pem = ca.identity('GridMSP', 'admin').certificatePem;
      expectRefused(() => verifier.deserialize(serializeIdentity('GridMSP', pem + pem)), 'MALFORMED');
    });

    it('refuses a certificate without a NodeOU role', async () => {
      // Issued by the real Grid CA key (read from disk), but OU=manager.
      const caKeyPem = fs.readFileSync(path.join(dir, 'GridMSP', 'ca', 'ca-key.pem'), 'utf8');
      const der = createPrivateKey(caKeyPem).export({ type: 'pkcs8', format: 'der' });
      const caKey = await webcrypto.subtle.importKey(
        'pkcs8',
        der,
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['sign'],
      );
      const cert = await makeCert({
        subject: [{ C: ['CN'] }, { O: ['grid.gec.example'] }, { OU: ['manager'] }, { CN: ['bob'] }],
        issuer: new x509.X509Certificate(ca.rootCertificates().GridMSP).subjectName,
        issuerKey: caKey,
      });
      expectRefused(() => verifier.deserialize(serializeIdentity('GridMSP', cert.pem)), 'NO_ROLE', /NodeOU/);
    });

    it('checks validity only when asked', () => {
      const id = ca.identity('GridMSP', 'peer0');
      expect(verifier.deserialize(id.serialize()).role).toBe('peer');
      expect(verifier.deserialize(id.serialize(), new Date()).role).toBe('peer');
      expectRefused(
        () => verifier.deserialize(id.serialize(), new Date('2000-01-01T00:00:00Z')),
        'NOT_YET_VALID',
      );
      expectRefused(() => verifier.deserialize(id.serialize(), new Date('2100-01-01T00:00:00Z')), 'EXPIRED');
      const m = Buffer.from('t');
      expectRefused(
        () => verifier.verify(id.serialize(), m, id.sign(m), new Date('2100-01-01T00:00:00Z')),
        'EXPIRED',
      );
    });

    it('refuses a root that is not a CA', () => {
      expect(() => new MspVerifier({ GridMSP: ca.identity('GridMSP', 'peer0').certificatePem })).toThrow(
        /GridMSP/,
      );
      expect(() => new MspVerifier({ GridMSP: 'nothing' })).toThrow(/GridMSP/);
    });
  });

  describe('principals', () => {
    const principalsOf = (mspId: string, name: string): string[] => {
      const v = verifier.deserialize(ca.identity(mspId, name).serialize());
      return ['peer', 'admin', 'client', 'member', 'orderer'].filter((role) =>
        verifier.satisfiesPrincipal(v, `${mspId}.${role}`),
      );
    };

    it('matches NodeOU roles and membership', () => {
      expect(principalsOf('GridMSP', 'peer0')).toEqual(['peer', 'member']);
      expect(principalsOf('GridMSP', 'admin')).toEqual(['admin', 'member']);
      expect(principalsOf('GridMSP', 'platform')).toEqual(['client', 'member']);
      expect(principalsOf('RegulatorMSP', 'regulator')).toEqual(['client', 'member']);
      expect(principalsOf('OrdererMSP', 'orderer0')).toEqual(['member', 'orderer']);
    });

    it('never matches another MSP', () => {
      const v = verifier.deserialize(ca.identity('GridMSP', 'peer0').serialize());
      expect(verifier.satisfiesPrincipal(v, 'TradingCenterMSP.peer')).toBe(false);
      expect(verifier.satisfiesPrincipal(v, 'TradingCenterMSP.member')).toBe(false);
      expect(verifier.satisfiesPrincipal(v, "'GridMSP.peer'")).toBe(true);
    });

    it('rejects malformed principals', () => {
      const v = verifier.deserialize(ca.identity('GridMSP', 'peer0').serialize());
      expect(() => verifier.satisfiesPrincipal(v, 'GridMSP')).toThrow(/principal/);
      expect(() => verifier.satisfiesPrincipal(v, 'GridMSP.boss')).toThrow(/principal/);
      expect(() => verifier.satisfiesPrincipal(v, '.peer')).toThrow(/principal/);
    });
  });

  describe('persistence', () => {
    it('reopens with identical certificates and keys', async () => {
      const again = await EmbeddedCa.open(dir);
      expect(again.rootCertificates()).toEqual(ca.rootCertificates());
      expect(again.listIdentities()).toEqual(ca.listIdentities());
      const m = Buffer.from('same key?');
      for (const { mspId, name } of ca.listIdentities()) {
        const a = ca.identity(mspId, name);
        const b = again.identity(mspId, name);
        expect(b.certificatePem).toBe(a.certificatePem);
        // Signed by the reloaded key, verified with the original certificate.
        verifier.verify(a.serialize(), m, b.sign(m));
      }
    });

    it('stores PKCS#8 keys with mode 0600', () => {
      const files = [
        path.join(dir, 'GridMSP', 'ca', 'ca-key.pem'),
        path.join(dir, 'GridMSP', 'identities', 'admin', 'key.pem'),
      ];
      for (const f of files) {
        expect(fs.readFileSync(f, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
        expect(fs.statSync(f).mode & 0o777).toBe(0o600);
      }
      expect(fs.readFileSync(path.join(dir, 'GridMSP', 'identities', 'admin', 'cert.pem'), 'utf8')).toMatch(
        /^-----BEGIN CERTIFICATE-----/,
      );
    });

    it('persists enrollments and enrolls identities added to the spec', async () => {
      const d = tmpDir();
      try {
        const spec: OrgSpec[] = [
          { mspId: 'AMSP', domain: 'a.example', identities: [{ name: 'peer0', role: 'peer' }] },
        ];
        const first = await EmbeddedCa.open(d, spec);
        const alice = await first.enroll('AMSP', 'alice', 'client', { 'gec.role': 'x' });
        expect(await first.enroll('AMSP', 'alice', 'client', { 'gec.role': 'x' })).toBe(alice);
        await expect(first.enroll('AMSP', 'alice', 'admin')).rejects.toThrow(/already enrolled/);
        await expect(first.enroll('BMSP', 'bob', 'client')).rejects.toThrow(/BMSP/);
        const [c1, c2] = await Promise.all([
          first.enroll('AMSP', 'carol', 'client'),
          first.enroll('AMSP', 'carol', 'client'),
        ]);
        expect(c1.certificatePem).toBe(c2.certificatePem);

        const grown: OrgSpec[] = [
          {
            mspId: 'AMSP',
            domain: 'a.example',
            identities: [...spec[0].identities, { name: 'admin', role: 'admin' }],
          },
        ];
        const second = await EmbeddedCa.open(d, grown);
        expect(second.identity('AMSP', 'alice').certificatePem).toBe(alice.certificatePem);
        expect(second.identity('AMSP', 'peer0').certificatePem).toBe(
          first.identity('AMSP', 'peer0').certificatePem,
        );
        expect(
          second
            .listIdentities()
            .map((i) => i.name)
            .sort(),
        ).toEqual(['admin', 'alice', 'carol', 'peer0']);
        const third = await EmbeddedCa.open(d, grown);
        expect(third.identity('AMSP', 'admin').certificatePem).toBe(
          second.identity('AMSP', 'admin').certificatePem,
        );
        await expect(
          EmbeddedCa.open(d, [{ mspId: 'AMSP', domain: 'other.example', identities: [] }]),
        ).rejects.toThrow(/domain/);
      } finally {
        fs.rmSync(d, { recursive: true, force: true });
      }
    });
  });

  describe('throughput (informational)', () => {
    it('verifies quickly', () => {
      const id = ca.identity('GridMSP', 'peer0');
      const serialized = id.serialize();
      const messages = Array.from({ length: 200 }, (_, i) => Buffer.from(`payload-${i}-`.repeat(20)));
      const sigs = messages.map((m) => id.sign(m));
      const n = 5000;
      let t = process.hrtime.bigint();
      for (let i = 0; i < n; i++) verifier.verify(serialized, messages[i % 200], sigs[i % 200]);
      const verifyPerSec = n / (Number(process.hrtime.bigint() - t) / 1e9);
      t = process.hrtime.bigint();
      for (let i = 0; i < n; i++) id.sign(messages[i % 200]);
      const signPerSec = n / (Number(process.hrtime.bigint() - t) / 1e9);
      // Cold path: fresh verifier each time (certificate chain check + parsing).
      t = process.hrtime.bigint();
      const cold = 200;
      const roots = ca.rootCertificates();
      for (let i = 0; i < cold; i++) new MspVerifier(roots).deserialize(serialized);
      const coldPerSec = cold / (Number(process.hrtime.bigint() - t) / 1e9);
      console.log(
        `MSP throughput: verify ${verifyPerSec.toFixed(0)}/s, sign ${signPerSec.toFixed(0)}/s, ` +
          `uncached deserialize (incl. verifier construction) ${coldPerSec.toFixed(0)}/s`,
      );
      expect(verifyPerSec).toBeGreaterThan(0);
    });
  });
});
