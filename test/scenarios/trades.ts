/**
 * Trade attestation scenarios (chaincode `trades`, `vouchers`), written once for every ledger behind the port:
 * a verified green-power trade is attested in one transaction that moves the certificates into custody,
 * bound to the trade, and creates the buyer's voucher; a trade id is attested once, ever; attested green
 * consumption never exceeds the consumer's attested consumption; the voucher's custody lifecycle.
 */
import { createHash } from 'node:crypto';
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

function attestTrade(
  ledger: LedgerPort,
  identity: IdentityRef,
  trade: { seller: string; buyer: string; unitId: string; meterIds: string[]; lotId: string; volume: number },
  tradeId = uniqueId('T'),
) {
  const body = {
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
    voucherId: `V-${tradeId}`,
  };
  return submit(ledger, identity, 'trades:AttestTrade', {
    ...body,
    tradeDataHash: sha256(JSON.stringify(body)),
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
        ids.tradingClient,
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
            ids.tradingClient,
            { seller: owner, buyer, unitId, meterIds, lotId: lot.id, volume: 50 },
            tradeId,
          ),
        ),
      ).toBe('TRADE_ALREADY_ATTESTED');
    },
  },
  {
    name: "attested green consumption never exceeds the consumer's attested consumption for the month",
    async run(ledger, ids) {
      const { owner, unitId, lot } = await issuedLot(ledger, ids, [300_000_000, 0]);
      const { buyer, meterIds } = await meteredConsumer(ledger, ids, 120_000);
      await attestTrade(ledger, ids.tradingClient, {
        seller: owner,
        buyer,
        unitId,
        meterIds,
        lotId: lot.id,
        volume: 100,
      });
      const code = await refusalCode(
        attestTrade(ledger, ids.tradingClient, {
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
      const attested = await attestTrade(ledger, ids.tradingClient, {
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
