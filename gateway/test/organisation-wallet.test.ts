/**
 * A single-organisation gateway on a Fabric network holds its organisation's wallet only: one that holds
 * another organisation's identity (or none of its own) does not start, and the message says which identities
 * and which wallet to mount instead. The identities are real Fabric-style certificates (NodeOU in the subject
 * OU, `gec.role` in the attribute extension), issued by the embedded CA and laid out as network/scripts write
 * a wallet: `<wallet>/<mspId>/<name>/{cert.pem,key.pem}`.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config';
import { EmbeddedCa } from '../src/ledger/embedded/msp';
import { keyIdentity } from '../src/auth/key-identity';
import { heldIdentitiesOf } from '../src/organisation/organisation.module';
import { walletIdentities, WalletOrganisationError } from '../src/organisation/held-identities';
import { startGateway, tempDir } from './support/harness';

describe('a single-organisation gateway’s wallet', () => {
  let dir: string;
  let caDir: string;

  beforeAll(async () => {
    dir = await tempDir('gec-wallet-');
    caDir = join(dir, 'ca');
    await EmbeddedCa.open(caDir);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A wallet holding `identities` ("MSP/name"), copied from the CA's enrolments. */
  const wallet = async (name: string, identities: string[]): Promise<string> => {
    const folder = join(dir, name);
    for (const identity of identities) {
      const [mspId, id] = identity.split('/');
      await mkdir(join(folder, mspId), { recursive: true });
      await cp(join(caDir, mspId, 'identities', id), join(folder, mspId, id), { recursive: true });
    }
    await mkdir(folder, { recursive: true });
    return folder;
  };

  const fabricConfig = (walletDir: string, organisation: string) =>
    loadConfig({
      GEC_DATA_DIR: join(dir, 'data'),
      LEDGER: 'fabric-gateway',
      GEC_ORGANISATION: organisation,
      FABRIC_PEER_ENDPOINT: '127.0.0.1:7051',
      FABRIC_TLS_CERT: '/tls/ca.crt',
      FABRIC_WALLET: walletDir,
    });

  it('reads each identity’s certificate: admin or client, and its gec.role', async () => {
    const folder = await wallet('grid-only', ['GridMSP/admin', 'GridMSP/platform']);
    expect(walletIdentities(folder)).toEqual([
      { mspId: 'GridMSP', name: 'admin', admin: true, gecRole: 'admin' },
      { mspId: 'GridMSP', name: 'platform', admin: false, gecRole: 'energy-platform' },
    ]);
    const held = heldIdentitiesOf(fabricConfig(folder, 'GridMSP'));
    expect(held.find({ mspId: 'GridMSP', name: 'platform' })).toMatchObject({ admin: false });
  });

  it('refuses a wallet holding another organisation’s identities, naming them and the wallet to mount', async () => {
    const folder = await wallet('mixed', [
      'GridMSP/platform',
      'TradingCenterMSP/admin',
      'RegulatorMSP/regulator',
    ]);
    const attempt = () => heldIdentitiesOf(fabricConfig(folder, 'GridMSP'));
    expect(attempt).toThrow(WalletOrganisationError);
    expect(attempt).toThrow(
      `FABRIC_WALLET ${folder} holds identities of other organisations (RegulatorMSP/regulator, ` +
        "TradingCenterMSP/admin); this gateway is GridMSP's (GEC_ORGANISATION) and may hold GridMSP identities " +
        "only: mount only GridMSP's wallet (network/build/wallets/GridMSP)",
    );
  });

  it('refuses a wallet holding none of its organisation’s identities', async () => {
    const folder = await wallet('empty', []);
    expect(() => heldIdentitiesOf(fabricConfig(folder, 'RegulatorMSP'))).toThrow(
      /holds no RegulatorMSP identity/,
    );
    expect(() => heldIdentitiesOf(fabricConfig(join(dir, 'missing'), 'RegulatorMSP'))).toThrow(
      /FABRIC_WALLET .*missing is not a folder/,
    );
  });

  it('lets the development consortium (all) hold every organisation’s wallet', async () => {
    const folder = await wallet('consortium', ['GridMSP/admin', 'TradingCenterMSP/trading']);
    const held = heldIdentitiesOf(fabricConfig(folder, 'all'));
    expect(held.all.map((identity) => `${identity.mspId}/${identity.name}`)).toEqual([
      'GridMSP/admin',
      'TradingCenterMSP/trading',
    ]);
  });

  it('gives keys identities from the wallet: an admin (read from its certificate) only to admin keys', async () => {
    const held = heldIdentitiesOf(
      fabricConfig(await wallet('keys', ['GridMSP/admin', 'GridMSP/platform']), 'GridMSP'),
    );
    expect(keyIdentity({ role: 'admin' }, held)).toEqual({ mspId: 'GridMSP', name: 'admin' });
    expect(keyIdentity({ role: 'trading-center' }, held)).toEqual({ mspId: 'GridMSP', name: 'platform' });
    expect(() => keyIdentity({ role: 'energy-platform', identityName: 'admin' }, held)).toThrow(
      expect.objectContaining({ code: 'ADMIN_IDENTITY_NOT_ALLOWED', status: 422 }),
    );
    expect(() => keyIdentity({ role: 'regulator', identityName: 'auditor' }, held)).toThrow(
      expect.objectContaining({ code: 'IDENTITY_NOT_HELD' }),
    );
  });

  it('runs admin keys as the client identity when the organisation keeps its admin out of the wallet', async () => {
    const held = heldIdentitiesOf(
      fabricConfig(await wallet('no-admin', ['TradingCenterMSP/trading']), 'TradingCenterMSP'),
    );
    expect(keyIdentity({ role: 'admin' }, held)).toEqual({ mspId: 'TradingCenterMSP', name: 'trading' });
  });

  it('the gateway does not start with another organisation’s identity in its wallet: nothing is opened', async () => {
    const folder = await wallet('start-mixed', ['TradingCenterMSP/trading', 'GridMSP/admin']);
    let opened = false;
    await expect(
      startGateway({
        dataDir: join(dir, 'start'),
        env: {
          LEDGER: 'fabric-gateway',
          GEC_ORGANISATION: 'TradingCenterMSP',
          FABRIC_PEER_ENDPOINT: '127.0.0.1:7051',
          FABRIC_TLS_CERT: '/tls/ca.crt',
          FABRIC_WALLET: folder,
        },
        wrapLedger: (ledger) => {
          opened = true;
          return ledger;
        },
      }),
    ).rejects.toThrow(/holds identities of other organisations \(GridMSP\/admin\)/);
    // Refused before the ledger (or the embedded PostgreSQL) is opened.
    expect(opened).toBe(false);
    expect(existsSync(join(dir, 'start'))).toBe(false);
  });
});
