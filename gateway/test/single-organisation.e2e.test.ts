/**
 * Three gateways, one per organisation (GEC_ORGANISATION GridMSP, TradingCenterMSP, RegulatorMSP), on ONE
 * embedded ledger, each with its own database and its own projector, as three consortium members run them on
 * one Fabric channel (spec §8, issue 15). Each refuses the routes another organisation's gateway serves, naming
 * that gateway; each serves its own; a write through the trading center's gateway is projected by the
 * regulator's; each gives its keys its own organisation's identities only.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { hashKey } from '../src/auth/api-keys.service';
import { EmbeddedLedger } from '../src/ledger/embedded/embedded-ledger';
import { LEDGER_PORT } from '../src/ledger-module/ledger.tokens';
import type { LedgerPort } from '../src/ledger/port';
import { Projector } from '../src/projection/projector.service';
import { operationsOf, type OpenApiDoc } from './support/openapi-requests';
import {
  participant,
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  type TestGateway,
  type TestPostgres,
} from './support/harness';
import { setupIssuedLot, type LotMarket } from './support/lot-fixture';

jest.setTimeout(180000);

const ORGANISATIONS = ['GridMSP', 'TradingCenterMSP', 'RegulatorMSP'] as const;
type Msp = (typeof ORGANISATIONS)[number];
const PART: Record<string, Msp> = {
  PLATFORM_OPERATOR: 'GridMSP',
  TRADING_CENTER: 'TradingCenterMSP',
  REGULATOR: 'RegulatorMSP',
};
const ROLES = ['admin', 'trading-center', 'energy-platform', 'regulator'] as const;

interface Member {
  gateway: TestGateway;
  dataDir: string;
  databaseUrl: string;
  keys: Record<string, string>;
}

describe('one gateway per organisation on one ledger', () => {
  let postgres: TestPostgres;
  let dir: string;
  let ledger: EmbeddedLedger;
  const members = {} as Record<Msp, Member>;
  let market: LotMarket;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dir = await tempDir('gec-single-org-');
    ledger = await EmbeddedLedger.open({ dataDir: join(dir, 'ledger'), sync: false });
    for (const organisation of ORGANISATIONS) {
      const dataDir = join(dir, organisation);
      const databaseUrl = await postgres.newDatabase();
      const gateway = await startGateway({
        dataDir,
        databaseUrl,
        ledger,
        env: {
          GEC_ORGANISATION: organisation,
          EXPIRY_SWEEP_INTERVAL_MS: '0',
          RATE_LIMIT_PER_MINUTE: '0',
          RATE_LIMIT_READS_PER_MINUTE: '0',
        },
      });
      const admin = await readFirstAdminKey(dataDir);
      const keys: Record<string, string> = { admin };
      for (const role of ROLES.filter((r) => r !== 'admin')) {
        const created = await gateway.http
          .post('/v1/api-keys')
          .set('X-API-Key', admin)
          .send({ label: `${role} at ${organisation}`, role, actsFor: 'ORG-1' })
          .expect(201);
        keys[role] = created.body.key as string;
      }
      members[organisation] = { gateway, dataDir, databaseUrl, keys };
    }
    // The platform registers the market and issues: participants, unit, meter attestation, issuance.
    market = await setupIssuedLot(members.GridMSP.gateway, members.GridMSP.dataDir);
  });

  afterAll(async () => {
    for (const organisation of ORGANISATIONS) await members[organisation]?.gateway.close();
    await ledger?.close();
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const grid = () => members.GridMSP;
  const trading = () => members.TradingCenterMSP;
  const regulator = () => members.RegulatorMSP;

  describe('identities', () => {
    it('gives each gateway’s first admin key its own organisation’s identity (the regulator’s: its client)', async () => {
      const expected: Record<Msp, object> = {
        GridMSP: { mspId: 'GridMSP', name: 'admin' },
        TradingCenterMSP: { mspId: 'TradingCenterMSP', name: 'admin' },
        RegulatorMSP: { mspId: 'RegulatorMSP', name: 'regulator' },
      };
      for (const organisation of ORGANISATIONS) {
        const { gateway, keys } = members[organisation];
        const list = await gateway.http.get('/v1/api-keys').set('X-API-Key', keys.admin).expect(200);
        const first = list.body.items.find((item: { createdBy: string | null }) => item.createdBy === null);
        expect(first.fabricIdentity).toEqual(expected[organisation]);
      }
    });

    it('gives every other key its own organisation’s client identity', async () => {
      const client: Record<Msp, string> = {
        GridMSP: 'platform',
        TradingCenterMSP: 'trading',
        RegulatorMSP: 'regulator',
      };
      for (const organisation of ORGANISATIONS) {
        const { gateway, keys } = members[organisation];
        const list = await gateway.http.get('/v1/api-keys').set('X-API-Key', keys.admin).expect(200);
        for (const item of list.body.items.filter((k: { role: string }) => k.role !== 'admin')) {
          expect(item.fabricIdentity).toEqual({ mspId: organisation, name: client[organisation] });
        }
      }
    });

    it('refuses a key naming another organisation’s identity, naming this gateway’s organisation (422)', async () => {
      const { gateway, keys } = trading();
      const res = await gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', keys.admin)
        .send({ label: 'x', role: 'trading-center', actsFor: 'TC-1', mspId: 'GridMSP' })
        .expect(422);
      expect(res.body).toMatchObject({ code: 'IDENTITY_OF_OTHER_ORGANISATION', status: 422 });
      expect(res.body.detail).toMatch(/TradingCenterMSP identities only, not GridMSP's/);
      expect(res.body.errors).toEqual([
        { field: 'mspId', message: expect.stringMatching(/TradingCenterMSP/) },
      ]);
      // An admin key too: the gateway holds no other organisation's admin either.
      const admin = await gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', keys.admin)
        .send({
          label: 'x',
          role: 'admin',
          actsFor: 'TC-1',
          mspId: 'RegulatorMSP',
          identityName: 'regulator',
        })
        .expect(422);
      expect(admin.body.code).toBe('IDENTITY_OF_OTHER_ORGANISATION');
    });

    it('refuses a non-admin key naming its organisation’s admin identity (422 ADMIN_IDENTITY_NOT_ALLOWED)', async () => {
      const { gateway, keys } = trading();
      const res = await gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', keys.admin)
        .send({ label: 'x', role: 'trading-center', actsFor: 'TC-1', identityName: 'admin' })
        .expect(422);
      expect(res.body.code).toBe('ADMIN_IDENTITY_NOT_ALLOWED');
      expect(res.body.detail).toMatch(/TradingCenterMSP\/admin.*admin keys only.*TradingCenterMSP\/trading/);
    });

    it('signs with its own organisation’s identities only, whatever a stored key says (403 IDENTITY_NOT_HELD)', async () => {
      // A key stored before the gateway became the trading center's, naming the platform's identity.
      const { gateway, databaseUrl } = trading();
      const key = `gec_${randomUUID().replace(/-/g, '')}`;
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(
          `INSERT INTO api_keys (id, label, role, acts_for, msp_id, identity_name, key_hash, key_prefix,
                                 require_signature, created_at)
           VALUES ($1, 'old', 'regulator', 'NEA', 'GridMSP', 'platform', $2, $3, false, now())`,
          [randomUUID(), hashKey(key), key.slice(0, 8)],
        );
      } finally {
        await client.end();
      }
      const res = await gateway.http
        .get(`/v1/certificates/${market.lotId}/provenance`)
        .set('X-API-Key', key)
        .expect(403);
      expect(res.body).toMatchObject({ code: 'IDENTITY_NOT_HELD', status: 403 });
      expect(res.body.detail).toMatch(/TradingCenterMSP's.*cannot act as GridMSP\/platform/);
      const port = gateway.app.get<LedgerPort>(LEDGER_PORT);
      await expect(
        port.evaluate({
          identity: { mspId: 'GridMSP', name: 'admin' },
          transaction: 'parameters:GetParameters',
        }),
      ).rejects.toMatchObject({ name: 'IdentityNotHeldError' });
      expect(() =>
        port.prepare({ identity: { mspId: 'RegulatorMSP', name: 'regulator' }, transaction: 'x:Y' }),
      ).toThrow(/holds TradingCenterMSP identities only/);
    });
  });

  describe('routes', () => {
    let doc: OpenApiDoc & {
      paths: Record<string, Record<string, { 'x-gec-served-by'?: string[]; 'x-gec-roles'?: string[] }>>;
    };

    beforeAll(async () => {
      doc = (await grid().gateway.http.get('/docs/openapi.json').expect(200)).body as typeof doc;
    });

    it('publishes which organisation’s gateway serves every operation that takes an API key', () => {
      const undeclared: string[] = [];
      for (const [path, methods] of Object.entries(doc.paths)) {
        for (const [method, operation] of Object.entries(methods)) {
          if (!operation['x-gec-roles']) continue;
          const servers = operation['x-gec-served-by'];
          if (!servers || servers.length === 0) undeclared.push(`${method.toUpperCase()} ${path}`);
          else for (const server of servers) expect(['ANY', ...Object.keys(PART)]).toContain(server);
        }
      }
      expect(undeclared).toEqual([]);
    });

    it('refuses every route another organisation serves with 403 SERVED_BY_OTHER_ORGANISATION naming it, and serves its own', async () => {
      const operations = operationsOf(doc).filter((operation) => operation.roles);
      expect(operations.length).toBeGreaterThan(40);
      let refused = 0;
      for (const operation of operations) {
        const servers = doc.paths[operation.path][operation.method]['x-gec-served-by']!;
        const path = operation.path.replace(/\{[^}]+\}/g, 'X-1');
        for (const organisation of ORGANISATIONS) {
          const { gateway, keys } = members[organisation];
          const key = keys[operation.roles![0]];
          const res = await gateway.http[operation.method](path).set('X-API-Key', key).send({});
          const served = servers.includes('ANY') || servers.some((s) => PART[s] === organisation);
          const where = `${operation.method.toUpperCase()} ${operation.path} at ${organisation}`;
          if (served) {
            expect({ where, code: res.body?.code }).not.toEqual({
              where,
              code: 'SERVED_BY_OTHER_ORGANISATION',
            });
            expect({ where, status: res.status < 500 }).toEqual({ where, status: true });
            continue;
          }
          refused += 1;
          expect({ where, status: res.status, code: res.body.code }).toEqual({
            where,
            status: 403,
            code: 'SERVED_BY_OTHER_ORGANISATION',
          });
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          for (const server of servers) expect(res.body.detail).toContain(`the ${PART[server]} gateway`);
          expect(res.body.detail).toContain(`this gateway is ${organisation}'s`);
        }
      }
      // The regulator's gateway refuses every write; the platform and the trading center each some of the other's.
      expect(refused).toBeGreaterThan(30);
    });

    it('names the serving gateway in words, e.g. for a transfer asked of the platform', async () => {
      const res = await grid()
        .gateway.http.post(`/v1/lots/${market.lotId}/transfer`)
        .set('X-API-Key', grid().keys['trading-center'])
        .send({ from: 'GEN-1', to: 'CON-1', certificates: 1 })
        .expect(403);
      expect(res.body.detail).toBe(
        `POST /v1/lots/${market.lotId}/transfer is served by the TradingCenterMSP gateway (trading center: the ` +
          "power trading center, 电力交易中心); this gateway is GridMSP's (platform operator: the grid’s energy " +
          'internet platform, 能源互联网平台)',
      );
    });

    it('checks the API key first: no key or an unknown one is 401, a role the route refuses 403 ROLE_NOT_ALLOWED', async () => {
      const { gateway, keys } = regulator();
      await gateway.http.post('/v1/issuances').send({}).expect(401);
      await gateway.http.post('/v1/issuances').set('X-API-Key', 'gec_unknown').send({}).expect(401);
      const role = await gateway.http
        .post('/v1/issuances')
        .set('X-API-Key', keys.regulator)
        .send({})
        .expect(403);
      expect(role.body.code).toBe('ROLE_NOT_ALLOWED');
    });
  });

  describe('each serves its own', () => {
    it('the trading center transfers on its gateway; the regulator’s gateway projects it from the ledger', async () => {
      const transfer = await trading()
        .gateway.http.post(`/v1/lots/${market.lotId}/transfer`)
        .set('X-API-Key', trading().keys['trading-center'])
        .send({ from: 'GEN-1', to: 'CON-1', certificates: 15 })
        .expect(200);
      const moved = transfer.body.lotId as string;
      expect(transfer.body.lots.find((lot: { id: string }) => lot.id === moved)).toMatchObject({
        owner: 'CON-1',
        certificates: 15,
      });
      const { txId, blockNumber } = transfer.body.ledger as { txId: string; blockNumber: number };
      // The regulator's own projector, on its own database, applies the block.
      expect(await regulator().gateway.app.get(Projector).waitFor(txId, blockNumber, 30000)).toBe(true);
      const read = await regulator()
        .gateway.http.get(`/v1/lots/${moved}`)
        .set('X-API-Key', regulator().keys.regulator)
        .expect(200);
      expect(read.body).toMatchObject({ owner: 'CON-1', certificates: 15, ledger: { txId } });
      const held = await regulator()
        .gateway.http.get('/v1/lots?owner=CON-1')
        .set('X-API-Key', regulator().keys.regulator)
        .expect(200);
      expect(held.body.items.map((lot: { id: string }) => lot.id)).toEqual([moved]);
    });

    it('the platform issues on its gateway; the trading center’s gateway sees the issuance', async () => {
      const issuances = await trading()
        .gateway.http.get('/v1/issuances')
        .set('X-API-Key', trading().keys['trading-center'])
        .expect(200);
      expect(issuances.body.items).toEqual([
        expect.objectContaining({ unitId: 'U-1', productionMonth: market.month }),
      ]);
    });

    it('the trading center’s admin registers market participants on its own gateway', async () => {
      const res = await trading()
        .gateway.http.post('/v1/participants')
        .set('X-API-Key', trading().keys.admin)
        .send(participant('CON-TC-1', { kind: 'CONSUMER' }));
      expect({ status: res.status, registeredByMsp: res.body.registeredByMsp }).toEqual({
        status: 201,
        registeredByMsp: 'TradingCenterMSP',
      });
    });

    it('a trading-center key runs as the client identity: the ledger refuses it an admin’s transaction', async () => {
      const res = await trading()
        .gateway.http.post('/v1/units')
        .set('X-API-Key', trading().keys['trading-center'])
        .send({
          id: 'U-TC-1',
          owner: 'GEN-1',
          name: 'Wind 2',
          projectCode: 'P3300002025000078',
          technology: 'WIND',
          capacityKw: 1000,
          province: '330000',
          meterIds: ['M-TC-1'],
          commissioningDate: '2021-01-01',
        })
        .expect(403);
      expect(res.body.code).toBe('ROLE_NOT_PERMITTED');
      expect(res.body.detail).toMatch(/gec\.role trading-center of TradingCenterMSP/);
    });
  });
});
