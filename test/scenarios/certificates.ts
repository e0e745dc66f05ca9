/**
 * Certificate lifecycle scenarios (chaincode `units`, `metering`, `certificates`, `redemption`), written once
 * for every ledger behind the port: issuance from attested generation into one serial-range lot, serial
 * look-up, transfer with lineage and conserved volumes, redemption and its check by serial, the finality of
 * redeemed serials, the regulator's read-only role, and 20 concurrent transfers of one lot meeting MVCC.
 * Every id is fresh, so the scenarios can share one long-lived network.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CommitError, EndorseError, type IdentityRef, type LedgerPort } from '../../gateway/src/ledger/port';
import { json, register, uniqueId, type Scenario, type ScenarioIds } from './harness';

export interface Lot {
  id: string;
  serialStart: string;
  serialEnd: string;
  sequenceStart: number;
  sequenceEnd: number;
  volume: number;
  owner: string;
  status: string;
  parentLotId: string;
  productionMonth: string;
}

/**
 * The production month: two months before now in Asia/Shanghai (UTC+8, no DST), so it has ended (attestation
 * needs that) and its certificates are well inside their 24-month validity.
 */
export const MONTH = (() => {
  const shanghai = new Date(Date.now() + 8 * 3_600_000);
  const month = new Date(Date.UTC(shanghai.getUTCFullYear(), shanghai.getUTCMonth() - 2, 1));
  return month.toISOString().slice(0, 7);
})();
const MONTH_DIGITS = MONTH.replace('-', '');

export async function submit(
  ledger: LedgerPort,
  identity: IdentityRef,
  transaction: string,
  request: unknown,
) {
  return ledger.submit({ identity, transaction, args: [JSON.stringify(request)] });
}

export async function read<T>(
  ledger: LedgerPort,
  identity: IdentityRef,
  transaction: string,
  arg: string,
): Promise<T> {
  return json(await ledger.evaluate({ identity, transaction, args: [arg] })) as T;
}

export async function refusalCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(EndorseError);
    return (err as EndorseError).chaincodeMessage.split(':')[0];
  }
  throw new Error('expected the ledger to refuse the transaction');
}

/**
 * A generator with a two-meter wind unit whose meters were attested for MONTH, issued; returns the lot.
 * Wh totals are chosen so the issuance also carries a remainder.
 */
export async function issuedLot(ledger: LedgerPort, ids: ScenarioIds, meterWh: [number, number]) {
  const owner = uniqueId('GEN');
  await register(ledger, ids.gridAdmin, { id: owner, kind: 'GENERATOR', region: '150000' });
  const unitId = uniqueId('UNIT');
  const projectCode = `PJ${randomBytes(8).toString('hex').toUpperCase().slice(0, 15)}`;
  const meterIds = [uniqueId('M'), uniqueId('M')];
  await submit(ledger, ids.gridAdmin, 'units:RegisterUnit', {
    id: unitId,
    owner,
    name: 'Inner Mongolia wind farm',
    projectCode,
    technology: 'WIND',
    capacityKw: 49_500,
    province: '150000',
    meterIds,
    commissioningDate: '2022-06-30',
  });
  for (const [i, meterId] of meterIds.entries()) {
    const totalWh = meterWh[i];
    await submit(ledger, ids.gridPlatform, 'metering:AttestMeterPeriod', {
      meterId,
      period: MONTH,
      totalWh,
      digest: createHash('sha256').update(`${meterId}|${MONTH}|${totalWh}`).digest('hex'),
    });
  }
  const issued = await submit(ledger, ids.gridAdmin, 'certificates:Issue', { unitId, month: MONTH });
  const issuance = json(issued.result) as { lotId: string; certificates: number; carryOutWh: string };
  const lot = await read<Lot>(ledger, ids.regulator, 'certificates:GetLot', issuance.lotId);
  return { owner, unitId, projectCode, issuance, lot };
}

export async function consumer(ledger: LedgerPort, ids: ScenarioIds): Promise<string> {
  const id = uniqueId('CON');
  await register(ledger, ids.tradingAdmin, { id, kind: 'CONSUMER', region: '330000' });
  return id;
}

export const certificateScenarios: Scenario[] = [
  {
    name: 'attested generation is issued as one serial-range lot; every serial in it is found by its number',
    async run(ledger, ids) {
      // 1,234.567 MWh + 765.433 MWh = 2,000 MWh exactly across two meters: 2,000 certificates, no remainder.
      const { owner, projectCode, issuance, lot } = await issuedLot(
        ledger,
        ids,
        [1_234_567_000, 765_433_000],
      );
      expect(issuance.certificates).toBe(2000);
      expect(lot).toMatchObject({
        owner,
        status: 'ACTIVE',
        volume: 2000,
        productionMonth: MONTH,
        parentLotId: '',
      });
      expect(lot.serialStart).toHaveLength(32);
      expect(lot.serialStart.startsWith(`${projectCode}${MONTH_DIGITS}`)).toBe(true);
      expect(lot.sequenceEnd - lot.sequenceStart + 1).toBe(lot.volume);
      const middle = `${projectCode}${MONTH_DIGITS}${String(lot.sequenceStart + 999).padStart(7, '0')}${lot.serialStart.slice(30)}`;
      for (const serial of [lot.serialStart, middle, lot.serialEnd]) {
        const found = await read<Lot>(ledger, ids.regulator, 'certificates:GetLotBySerial', serial);
        expect(found.id).toBe(lot.id);
      }
      const outside = `${projectCode}${MONTH_DIGITS}${String(lot.sequenceEnd + 1).padStart(7, '0')}${lot.serialStart.slice(30)}`;
      expect(await refusalCode(read(ledger, ids.regulator, 'certificates:GetLotBySerial', outside))).toBe(
        'SERIAL_NOT_FOUND',
      );
    },
  },
  {
    name: 'a partial transfer splits the lot with lineage; volumes are conserved and serials never overlap',
    async run(ledger, ids) {
      const { owner, lot } = await issuedLot(ledger, ids, [300_000_000, 200_500_000]);
      expect(lot.volume).toBe(500);
      const buyer = await consumer(ledger, ids);
      const moved = await submit(ledger, ids.tradingClient, 'certificates:Transfer', {
        lotId: lot.id,
        from: owner,
        to: buyer,
        volume: 120,
      });
      const { lots } = json(moved.result) as { lots: Lot[] };
      const parent = lots.find((l) => l.id === lot.id)!;
      const child = lots.find((l) => l.id !== lot.id)!;
      expect(parent).toMatchObject({ owner, volume: 380 });
      expect(child).toMatchObject({ owner: buyer, volume: 120, parentLotId: lot.id });
      expect(parent.volume + child.volume).toBe(lot.volume);
      expect(child.sequenceStart).toBe(parent.sequenceEnd + 1);
      expect(child.sequenceEnd).toBe(lot.sequenceEnd);
    },
  },
  {
    name: 'redeemed serials answer the redemption check and can never move again',
    async run(ledger, ids) {
      const { owner, lot } = await issuedLot(ledger, ids, [100_000_000, 0]);
      const redemptionId = uniqueId('RED');
      const redeemed = await submit(ledger, ids.tradingClient, 'redemption:Redeem', {
        redemptionId,
        owner,
        beneficiary: owner,
        purpose: 'renewable consumption',
        consumptionStartMonth: MONTH,
        consumptionEndMonth: MONTH,
        items: [{ lotId: lot.id, volume: 40 }],
      });
      const redemption = json(redeemed.result) as { ranges: Array<{ lotId: string; serialStart: string }> };
      const redeemedSerial = redemption.ranges[0].serialStart;
      const check = await read<Record<string, unknown>>(
        ledger,
        ids.regulator,
        'redemption:CheckRedemption',
        redeemedSerial,
      );
      expect(check).toMatchObject({ redeemed: true, redemptionId, beneficiary: owner });
      const untouched = await read<Record<string, unknown>>(
        ledger,
        ids.regulator,
        'redemption:CheckRedemption',
        lot.serialStart,
      );
      expect(untouched).toMatchObject({ redeemed: false });
      const buyer = await consumer(ledger, ids);
      const code = await refusalCode(
        submit(ledger, ids.tradingClient, 'certificates:Transfer', {
          lotId: redemption.ranges[0].lotId,
          from: owner,
          to: buyer,
        }),
      );
      expect(code).toBe('LOT_REDEEMED');
    },
  },
  {
    name: 'the regulator reads every lot but cannot issue, move or redeem',
    async run(ledger, ids) {
      const { owner, unitId, lot } = await issuedLot(ledger, ids, [10_000_000, 0]);
      expect(
        await refusalCode(submit(ledger, ids.regulator, 'certificates:Issue', { unitId, month: MONTH })),
      ).toBe('REGULATOR_READ_ONLY');
      expect(
        await refusalCode(
          submit(ledger, ids.regulator, 'certificates:Transfer', { lotId: lot.id, from: owner, to: owner }),
        ),
      ).toBe('REGULATOR_READ_ONLY');
    },
  },
  {
    // The generator (registered by the platform) and the consumers (registered by the trading center) hold the
    // lot under the same key-level policy while there is one trading center, so the winner writes no new policy
    // and the rest lose on MVCC (where it did, Fabric would say ENDORSEMENT_POLICY_FAILURE for them).
    name: 'twenty concurrent transfers of one lot: exactly one commits, the rest are MVCC_READ_CONFLICT',
    async run(ledger, ids) {
      const { owner, lot } = await issuedLot(ledger, ids, [20_000_000, 0]);
      const buyers = await Promise.all(Array.from({ length: 20 }, () => consumer(ledger, ids)));
      const outcomes = await Promise.allSettled(
        buyers.map((to) =>
          submit(ledger, ids.tradingClient, 'certificates:Transfer', { lotId: lot.id, from: owner, to }),
        ),
      );
      const committed = outcomes.filter((o) => o.status === 'fulfilled');
      const conflicts = outcomes
        .filter((o): o is PromiseRejectedResult => o.status === 'rejected')
        .map((o) => o.reason as Error);
      expect(committed).toHaveLength(1);
      for (const err of conflicts) {
        // A transfer endorsed after the winner committed is refused by the chaincode instead: the lot moved.
        if (err instanceof CommitError) expect(err.status.validationCode).toBe('MVCC_READ_CONFLICT');
        else expect((err as EndorseError).chaincodeMessage).toMatch(/^LOT_NOT_OWNED: /);
      }
      const after = await read<Lot>(ledger, ids.regulator, 'certificates:GetLot', lot.id);
      expect(buyers).toContain(after.owner);
      expect(after.volume).toBe(lot.volume);
    },
  },
];
