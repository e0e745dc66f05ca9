/** What the ledger-side benchmarks set up straight through the ledger port: identities, a month, an issued lot. */
import { createHash } from 'node:crypto';
import type { IdentityRef, LedgerPort } from '../ledger/port';

export const GRID_ADMIN: IdentityRef = { mspId: 'GridMSP', name: 'admin' };
export const GRID_PLATFORM: IdentityRef = { mspId: 'GridMSP', name: 'platform' };

/** The production month two months back in Asia/Shanghai: ended, and well inside the issuance window. */
export function productionMonth(): string {
  const shanghai = new Date(Date.now() + 8 * 3_600_000);
  return new Date(Date.UTC(shanghai.getUTCFullYear(), shanghai.getUTCMonth() - 2, 1))
    .toISOString()
    .slice(0, 7);
}

/**
 * A wind unit of `owner` with one meter, that meter's `month` attested with room for `certificates`, and the
 * month's certificates issued as one lot: its id.
 */
export async function issueLot(
  ledger: LedgerPort,
  unit: { unitId: string; meterId: string; projectCode: string; name: string; owner: string },
  month: string,
  certificates: number,
): Promise<string> {
  const submit = (identity: IdentityRef, transaction: string, body: unknown) =>
    ledger.submit({ identity, transaction, args: [JSON.stringify(body)] });
  await submit(GRID_ADMIN, 'units:RegisterUnit', {
    id: unit.unitId,
    owner: unit.owner,
    name: unit.name,
    projectCode: unit.projectCode,
    technology: 'WIND',
    capacityKw: 49_500,
    province: '150000',
    meterIds: [unit.meterId],
    commissioningDate: '2022-06-30',
  });
  const totalWh = certificates * 1_000_000;
  await submit(GRID_PLATFORM, 'metering:AttestMeterPeriod', {
    meterId: unit.meterId,
    period: month,
    totalWh,
    digest: createHash('sha256').update(`${unit.meterId}|${month}|${totalWh}`).digest('hex'),
  });
  const issued = await submit(GRID_ADMIN, 'certificates:Issue', { unitId: unit.unitId, month });
  return (JSON.parse(Buffer.from(issued.result).toString('utf8')) as { lotId: string }).lotId;
}
