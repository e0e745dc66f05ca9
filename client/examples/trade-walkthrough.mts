import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  canonicalSha256,
  GecClient,
  hmacCheckSigner,
  hmacRequestSigner,
  type MeterReading,
  type Schemas,
} from '@gec-ledger/client';

const GEC = process.env.GEC_URL ?? 'http://127.0.0.1:3000';
const adminKey = /^gec_\S+/m.exec(readFileSync('.data/first-admin-key.txt', 'utf8'))![0];
const admin = new GecClient({ baseUrl: GEC, apiKey: adminKey });

/** A new integration key: its X-API-Key and a signer with its request-signing secret (shown only now). */
async function integrationKey(label: string, role: 'trading-center' | 'energy-platform', actsFor: string) {
  const created = await admin.createApiKey({ label, role, actsFor });
  const { keyId, secret } = created.signing!;
  return { apiKey: created.key, signer: hmacRequestSigner(keyId, secret) };
}
const tcKey = await integrationKey('交易中心 trades', 'trading-center', 'TC-HEBEI');
const ep = new GecClient({
  baseUrl: GEC,
  ...(await integrationKey('能源互联网平台 meters', 'energy-platform', 'GRID-HEBEI')),
});

await admin.registerParticipant({
  id: 'TC-HEBEI',
  kind: 'TRADING_CENTER',
  name: '河北电力交易中心',
  region: '130000',
  creditCode: '91130000MA0TC0001W',
});
const checkSecret = randomBytes(32).toString('base64'); // keep it where your signer can read it
await admin.registerCheckKey('TC-HEBEI', { keyId: 'tc-2026-01', alg: 'hmac-sha256', secret: checkSecret });
const tc = new GecClient({ baseUrl: GEC, ...tcKey, checkSigner: hmacCheckSigner('tc-2026-01', checkSecret) });

await admin.registerParticipant({
  id: 'GEN-HB-002',
  kind: 'GENERATOR',
  name: '承德某光伏发电有限公司',
  region: '130000',
  creditCode: '91130700MA0GEN002Q',
});
await admin.registerParticipant({
  id: 'CON-SH-002',
  kind: 'CONSUMER',
  name: '上海某数据中心有限公司',
  region: '310000',
  creditCode: '91310115MA1CN0003L',
});
await admin.registerUnit({
  id: 'UNIT-HB-SOLAR-01',
  owner: 'GEN-HB-002',
  name: '承德光伏一期',
  projectCode: 'P1307002024000018',
  technology: 'SOLAR_PV',
  capacityKw: 20000,
  province: '130000',
  meterIds: ['MTR-HB-0101'],
  commissioningDate: '2024-09-30',
});
await ep.registerMeter({
  meterId: 'MTR-HB-0101',
  kind: 'GENERATION',
  owner: 'GEN-HB-002',
  unitId: 'UNIT-HB-SOLAR-01',
  intervalMinutes: 60,
});
await ep.registerMeter({
  meterId: 'MTR-SH-0101',
  kind: 'CONSUMPTION',
  owner: 'CON-SH-002',
  intervalMinutes: 60,
});

// Last month in Asia/Shanghai, and the month after it.
const shanghai = new Date(Date.now() + 8 * 3600e3);
const start = Date.UTC(shanghai.getUTCFullYear(), shanghai.getUTCMonth() - 1, 1);
const end = Date.UTC(shanghai.getUTCFullYear(), shanghai.getUTCMonth(), 1);
const month = new Date(start).toISOString().slice(0, 7);
const next = new Date(end).toISOString().slice(0, 7);
const readings: MeterReading[] = [];
for (let t = start; t < end; t += 3600e3) {
  const intervalStart = `${new Date(t).toISOString().slice(0, 19)}+08:00`;
  const hour = new Date(t).getUTCHours();
  readings.push({ meterId: 'MTR-HB-0101', intervalStart, kwh: hour >= 6 && hour < 18 ? '150.000' : '0' });
  readings.push({ meterId: 'MTR-SH-0101', intervalStart, kwh: '120.000' });
}
const ingested = await ep.ingestMeterReadings(readings, { mode: 'atomic' });
console.log(JSON.stringify({ accepted: ingested.accepted, rejected: ingested.rejected }));
for (const meter of ['MTR-HB-0101', 'MTR-SH-0101']) {
  const { meterId, period, status, totalKwh, digest } = await ep.closeMeterPeriod(meter, month);
  console.log(JSON.stringify({ meterId, period, status, totalKwh, digest }));
}

const issued = await admin.issueCertificates({ unitId: 'UNIT-HB-SOLAR-01', month });
console.log(JSON.stringify({ certificates: issued.certificates, lotId: issued.lotId }));

const trade: Schemas['TradeDataDto'] = {
  tradeId: `T-${month}-0001`,
  kind: 'GREEN_POWER',
  seller: 'GEN-HB-002',
  buyer: 'CON-SH-002',
  volumeKwh: 50000,
  priceFen: 2250000,
  currency: 'CNY',
  deliveryStart: `${month}-01T00:00:00+08:00`,
  deliveryEnd: `${next}-01T00:00:00+08:00`,
  sellerUnitIds: ['UNIT-HB-SOLAR-01'],
  buyerMeterIds: ['MTR-SH-0101'],
  lots: [{ lotId: issued.lotId!, volume: 50 }],
};
const received = await tc.submitTrade({ trade });
console.log(JSON.stringify({ tradeId: received.tradeId, state: received.state }));
if (received.tradeDataHash === canonicalSha256(trade))
  console.log('tradeDataHash = SHA-256 of our canonical bytes');
const status = await tc.waitForTrade(trade.tradeId, { timeoutMs: 60_000 });
console.log(JSON.stringify({ tradeId: status.tradeId, state: status.state, failure: status.failure }));

const voucher = await tc.getVoucher(status.voucherId!);
const { id, consumer, seller, volumeKwh, status: custody } = voucher;
console.log(JSON.stringify({ id, consumer, seller, volumeKwh, status: custody }));
const evidence = await tc.getTradeEvidence(trade.tradeId);
console.log(JSON.stringify({ ok: evidence.ok }));
