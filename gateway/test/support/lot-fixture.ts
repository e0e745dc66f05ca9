/**
 * A small market for tests of certificate moves: a generator GEN-1 with a wind unit U-1 (meter M-1, attested
 * for last month), the month's certificates issued into one lot owned by GEN-1, a consumer CON-1, and a
 * trading-center key (its signing secret remembered by the signing agent).
 */
import { createHash } from 'node:crypto';
import type { CertificateLot } from '@gec/chaincode';
import { LEDGER_PORT } from '../../src/ledger-module/ledger.tokens';
import type { IdentityRef, LedgerPort } from '../../src/ledger/port';
import { participant, readFirstAdminKey, TestGateway } from './harness';

const PLATFORM: IdentityRef = { mspId: 'GridMSP', name: 'platform' };
export const REGULATOR: IdentityRef = { mspId: 'RegulatorMSP', name: 'regulator' };
export const PROJECT = 'P3300002025000077';

/** Last month in Asia/Shanghai (`YYYY-MM`): complete, so it can be attested and issued. */
export function previousMonth(): string {
  const shanghai = new Date(Date.now() + 8 * 3600 * 1000);
  const y = shanghai.getUTCFullYear();
  const m = shanghai.getUTCMonth();
  return m === 0 ? `${y - 1}-12` : `${y}-${String(m).padStart(2, '0')}`;
}

/** Serial number `sequence` of U-1's certificates for `month`. */
export function serial(month: string, sequence: number): string {
  return `${PROJECT}${month.replace('-', '')}${String(sequence).padStart(7, '0')}WT`;
}

export interface LotMarket {
  month: string;
  /** The issued lot's id (its first serial). */
  lotId: string;
  keys: { admin: string; 'trading-center': string };
}

export async function setupIssuedLot(gateway: TestGateway, dataDir: string): Promise<LotMarket> {
  const ledger = gateway.app.get<LedgerPort>(LEDGER_PORT);
  const month = previousMonth();
  const admin = await readFirstAdminKey(dataDir);
  const tc = await gateway.http
    .post('/v1/api-keys')
    .set('X-API-Key', admin)
    .send({ label: 'tc', role: 'trading-center', actsFor: 'ORG-1' })
    .expect(201);
  const post = (path: string, body: object) =>
    gateway.http.post(path).set('X-API-Key', admin).send(body).expect(201);
  await post('/v1/participants', participant('GEN-1'));
  await post('/v1/participants', participant('CON-1', { kind: 'CONSUMER' }));
  await post('/v1/units', {
    id: 'U-1',
    owner: 'GEN-1',
    name: 'Wind 1',
    projectCode: PROJECT,
    technology: 'WIND',
    capacityKw: 30000,
    province: '330000',
    meterIds: ['M-1'],
    commissioningDate: '2021-01-01',
  });
  await ledger.submit({
    identity: PLATFORM,
    transaction: 'metering:AttestMeterPeriod',
    args: [
      JSON.stringify({
        meterId: 'M-1',
        period: month,
        totalWh: '100000000',
        digest: createHash('sha256').update('m1').digest('hex'),
      }),
    ],
  });
  await post('/v1/issuances', { unitId: 'U-1', month });
  return { month, lotId: serial(month, 1), keys: { admin, 'trading-center': tc.body.key as string } };
}

/** Certificates `owner` holds, as the ledger says (every lot it owns, summed). */
export async function heldOnLedger(ledger: LedgerPort, owner: string): Promise<number> {
  const bytes = await ledger.evaluate({
    identity: REGULATOR,
    transaction: 'queries:ListLots',
    args: [JSON.stringify({ owner, pageSize: 1000 })],
  });
  const page = JSON.parse(Buffer.from(bytes).toString('utf8')) as { items: CertificateLot[] };
  return page.items.reduce((sum, lot) => sum + lot.volume, 0);
}
