import type { GenerationUnit } from '@gec/chaincode';
import { EntityManager } from 'typeorm';
import type { ChaincodeEvent } from '../ledger/port';
import { MalformedEventError } from '../projection/projector.service';

/** Upsert a unit as the ledger holds it (events carry the full object). */
export async function upsertUnit(
  manager: EntityManager,
  unit: GenerationUnit | null | undefined,
  event: ChaincodeEvent,
): Promise<void> {
  if (unit === null || unit === undefined) return;
  if (typeof unit !== 'object' || typeof unit.id !== 'string' || typeof unit.projectCode !== 'string') {
    throw new MalformedEventError(`${event.eventName}: unit is not a unit`);
  }
  await manager.query(
    `INSERT INTO units (id, owner, project_code, technology, province, status, updated_at, updated_tx_id,
                        block_number, doc)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, project_code = EXCLUDED.project_code,
       technology = EXCLUDED.technology, province = EXCLUDED.province, status = EXCLUDED.status,
       updated_at = EXCLUDED.updated_at, updated_tx_id = EXCLUDED.updated_tx_id,
       block_number = EXCLUDED.block_number, doc = EXCLUDED.doc`,
    [
      unit.id,
      unit.owner,
      unit.projectCode,
      unit.technology,
      unit.province,
      unit.status,
      unit.updatedAt,
      unit.updatedTxId,
      event.blockNumber,
      JSON.stringify(unit),
    ],
  );
}

/** `UnitRegistered { unit }`, `UnitStatusChanged { unit, previousStatus, reason }`. */
export async function projectUnitEvent(
  manager: EntityManager,
  payload: unknown,
  event: ChaincodeEvent,
): Promise<void> {
  const unit = (payload as { unit?: GenerationUnit } | null)?.unit;
  if (!unit) throw new MalformedEventError(`${event.eventName} has no unit`);
  await upsertUnit(manager, unit, event);
}
