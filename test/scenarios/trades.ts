/**
 * Trade attestation scenarios (chaincode `trades`, `vouchers`), written once for every ledger behind the port:
 * a verified green-power trade is attested in one transaction that moves the certificates into custody,
 * bound to the trade, and creates the buyer's voucher; a trade id is attested once, ever; attested green
 * consumption never exceeds the consumer's attested consumption; the voucher's custody lifecycle.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { IdentityRef, LedgerPort } from '../../gateway/src/ledger/port';
import { consumer, issuedLot, MONTH, read, refusalCode, submit, type Lot } from './certificates';
import { json, uniqueId, type Scenario, type ScenarioIds } from './harness';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The first instant of a month in Asia/Shanghai, as the trading center writes it. */
function monthStart(month: string): string {
  return `${month}-01T00:00:00+08:00`;
}

function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number);
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

/** A consumer with one consumption meter attested for MONTH at `kwh`. */
async function meteredConsumer(ledger: LedgerPort, ids: ScenarioIds, kwh: number) {
  const buyer = await consumer(ledger, ids);
  const meterId = uniqueId('CM');
  await submit(ledger, ids.gridAdmin, 'metering:RegisterConsumptionMeter', { meterId, consumer: buyer });
  await submit(ledger, ids.gridPlatform, 'metering:AttestMeterPeriod', {
    meterId,
    period: MONTH,
    totalWh: kwh * 1000,
    digest: sha256(`${meterId}|${MONTH}|${kwh}`),
  });
  return { buyer, meterIds: [meterId] };
}

/**
 * The trading center's trade-signing key (ECDSA P-256) for this run, registered on the ledger by its admin once
 * per ledger (a fresh key id per run: key ids are never reused, and the scenarios share one network).
 */
const tradeKey = { keyId: uniqueId('TK'), ...generateKeyPairSync('ec', { namedCurve: 'P-256' }) };
const registeredOn = new WeakSet<LedgerPort>();

async function ensureTradeKey(ledger: LedgerPort, ids: ScenarioIds): Promise<void> {
  if (registeredOn.has(ledger)) return;
  try {
    await submit(ledger, ids.tradingAdmin, 'consortium:RegisterTradeSigningKey', {
      keyId: tradeKey.keyId,
      alg: 'ecdsa-p256-sha256',
      publicKeyPem: tradeKey.publicKey.export({ type: 'spki', format: 'pem' }),
    });
  } catch (error) {
    // Two adapters (fabric-gateway, fabric-network) run the scenarios against one channel in one process: the
    // other one may have registered this run's key there already.
    const message = (error as { chaincodeMessage?: string }).chaincodeMessage ?? '';
    if (!message.startsWith('TRADE_SIGNING_KEY_EXISTS:')) throw error;
  }
  registeredOn.add(ledger);
}

/**
 * trades:AttestTrade as the platform submits it (`identity`: the grid's platform) with the trade data signed by
 * the trading center's key; `signed: false` sends it unsigned (the chaincode must refuse it).
 */
async function attestTrade(
  ledger: LedgerPort,
  ids: ScenarioIds,
  identity: IdentityRef,
  trade: { seller: string; buyer: string; unitId: string; meterIds: string[]; lotId: string; volume: number },
  tradeId = uniqueId('T'),
  signed = true,
) {
  await ensureTradeKey(ledger, ids);
  const data = {
    tradeId,
    kind: 'GREEN_POWER',
    seller: trade.seller,
    buyer: trade.buyer,
    volumeKwh: trade.volume * 1000,
    priceFen: trade.volume * 38_000,
    currency: 'CNY',
    deliveryStart: monthStart(MONTH),
    deliveryEnd: monthStart(nextMonth(MONTH)),
    sellerUnitIds: [trade.unitId],
    buyerMeterIds: trade.meterIds,
    lots: [{ lotId: trade.lotId, volume: trade.volume }],
  };
  const value = sign('sha256', Buffer.from(canonicalize(data)!, 'utf8'), tradeKey.privateKey).toString(
    'base64',
  );
  return submit(ledger, identity, 'trades:AttestTrade', {
    tradingCenter: ids.tradingAdmin.mspId,
    trade: data,
    ...(signed ? { signature: { keyId: tradeKey.keyId, alg: 'ecdsa-p256-sha256', value } } : {}),
    voucherId: `V-${tradeId}`,
    checkDataHash: sha256(`check:${tradeId}`),
    meterEvidenceDigest: sha256(`meters:${tradeId}`),
    checksPassed: [
      'PARTIES_ACTIVE',
      'SIGNATURE_VALID',
      'METER_DATA_COMPLETE',
      'VOLUME_COVERED',
      'CERTIFICATES_VALID',
    ],
  });
}

export const tradeScenarios: Scenario[] = [
  {
    name: 'a green-power trade is attested once: certificates move into custody bound to it, the voucher is created',
    async run(ledger, ids) {
      const { owner, unitId, lot } = await issuedLot(ledger, ids, [200_000_000, 0]);
      const { buyer, meterIds } = await meteredConsumer(ledger, ids, 500_000);
      const tradeId = uniqueId('T');
      const attested = await attestTrade(
        ledger,
        ids,
        ids.gridPlatform,
        { seller: owner, buyer, unitId, meterIds, lotId: lot.id, volume: 50 },
        tradeId,
      );
      const { trade, voucher } = json(attested.result) as {
        trade: { tradeId: string; txId: string };
        voucher: { voucherId: string; status: string; consumer: string; volumeKwh: number };
      };
      expect(trade.tradeId).toBe(tradeId);
      expect(voucher).toMatchObject({ status: 'IN_CUSTODY', consumer: buyer, volumeKwh: 50_000 });
      const stored = await read<Record<string, unknown>>(
        ledger,
        ids.regulator,
        'vouchers:GetVoucher',
        voucher.voucherId,
      );
      expect(stored).toMatchObject({ status: 'IN_CUSTODY', tradeId });
      // The moved certificates are the buyer's, in custody, bound to the trade, never tradable again.
      const moved = (json(attested.result) as { lots: Lot[] }).lots.find((l) => l.owner === buyer)!;
      expect(moved).toMatchObject({ status: 'IN_CUSTODY', volume: 50 });
      expect(
        await refusalCode(
          attestTrade(
            ledger,
            ids,
            ids.gridPlatform,
            { seller: owner, buyer, unitId, meterIds, lotId: lot.id, volume: 50 },
            tradeId,
          ),
        ),
      ).toBe('TRADE_ALREADY_ATTESTED');
    },
  },
  {
    name: "the chaincode refuses a trade the trading center did not sign, and the trading center's own identity never attests",
    async run(ledger, ids) {
      const { owner, unitId, lot } = await issuedLot(ledger, ids, [100_000_000, 0]);
      const { buyer, meterIds } = await meteredConsumer(ledger, ids, 100_000);
      const trade = { seller: owner, buyer, unitId, meterIds, lotId: lot.id, volume: 10 };
      expect(await refusalCode(attestTrade(ledger, ids, ids.gridPlatform, trade, uniqueId('T'), false))).toBe(
        'TRADE_SIGNATURE_INVALID',
      );
      expect(await refusalCode(attestTrade(ledger, ids, ids.tradingClient, trade))).toBe(
        'ROLE_NOT_PERMITTED',
      );
      const attested = await attestTrade(ledger, ids, ids.gridPlatform, trade);
      const { trade: stored } = json(attested.result) as { trade: { tradeId: string } };
      const check = await read<{ valid: boolean; verifiedBy: string }>(
        ledger,
        ids.regulator,
        'trades:CheckTradeSignature',
        stored.tradeId,
      );
      expect(check).toMatchObject({ valid: true, verifiedBy: 'CHAINCODE' });
    },
  },
  {
    name: "attested green consumption never exceeds the consumer's attested consumption for the month",
    async run(ledger, ids) {
      const { owner, unitId, lot } = await issuedLot(ledger, ids, [300_000_000, 0]);
      const { buyer, meterIds } = await meteredConsumer(ledger, ids, 120_000);
      await attestTrade(ledger, ids, ids.gridPlatform, {
        seller: owner,
        buyer,
        unitId,
        meterIds,
        lotId: lot.id,
        volume: 100,
      });
      const code = await refusalCode(
        attestTrade(ledger, ids, ids.gridPlatform, {
          seller: owner,
          buyer,
          unitId,
          meterIds,
          lotId: lot.id,
          volume: 30,
        }),
      );
      expect(code).toBe('GREEN_CONSUMPTION_EXCEEDS_ATTESTED');
      const total = await read<{ greenKwh: number }>(
        ledger,
        ids.regulator,
        'trades:GetGreenConsumption',
        JSON.stringify({ consumer: buyer, month: MONTH }),
      );
      expect(total.greenKwh).toBe(100_000);
    },
  },
  {
    name: 'a voucher in custody is released and claimed as consumption evidence; the regulator cannot touch it',
    async run(ledger, ids) {
      const { owner, unitId, lot } = await issuedLot(ledger, ids, [100_000_000, 0]);
      const { buyer, meterIds } = await meteredConsumer(ledger, ids, 100_000);
      const attested = await attestTrade(ledger, ids, ids.gridPlatform, {
        seller: owner,
        buyer,
        unitId,
        meterIds,
        lotId: lot.id,
        volume: 20,
      });
      const { voucher } = json(attested.result) as { voucher: { voucherId: string } };
      expect(
        await refusalCode(
          submit(ledger, ids.regulator, 'vouchers:Release', { voucherId: voucher.voucherId, holder: buyer }),
        ),
      ).toBe('REGULATOR_READ_ONLY');
      await submit(ledger, ids.tradingClient, 'vouchers:Release', {
        voucherId: voucher.voucherId,
        holder: buyer,
      });
      await submit(ledger, ids.tradingClient, 'vouchers:Claim', {
        voucherId: voucher.voucherId,
        holder: buyer,
        purpose: 'renewable consumption report',
        reportingStartMonth: MONTH,
        reportingEndMonth: MONTH,
      });
      const claimed = await read<{ status: string }>(
        ledger,
        ids.regulator,
        'vouchers:GetVoucher',
        voucher.voucherId,
      );
      expect(claimed.status).toBe('CLAIMED');
    },
  },
];
