import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/roles';
import { ledgerProblem } from '../common/ledger-errors';
import { ProblemError } from '../common/problem';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { LedgerPort } from '../ledger/port';
import { MeterDto, MeterKind, RegisterMeterDto } from './metering.dto';

export interface MeterRow {
  id: string;
  kind: MeterKind;
  owner: string;
  unit_id: string | null;
  interval_minutes: number;
  registered_at: Date;
}

export function meterDto(row: MeterRow): MeterDto {
  return {
    meterId: row.id,
    kind: row.kind,
    owner: row.owner,
    unitId: row.unit_id,
    intervalMinutes: row.interval_minutes,
    registeredAt: row.registered_at.toISOString(),
  };
}

const OWNER_KIND: Record<MeterKind, string> = { GENERATION: 'GENERATOR', CONSUMPTION: 'CONSUMER' };

/**
 * The meter registry: which meters the energy platform may send readings for, whose they are and on which
 * interval grid. A generation meter is checked against its unit on the ledger (the unit lists the meter and
 * belongs to the owner); the owner is checked against the participant projection.
 */
@Injectable()
export class MetersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
  ) {}

  async register(principal: Principal, request: RegisterMeterDto): Promise<MeterDto> {
    const intervalMinutes = request.intervalMinutes ?? 15;
    if (request.kind === 'GENERATION' && !request.unitId) {
      throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: unitId', {
        errors: [{ field: 'unitId', message: 'unitId is required for a GENERATION meter' }],
      });
    }
    if (request.kind === 'CONSUMPTION' && request.unitId) {
      throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: unitId', {
        errors: [{ field: 'unitId', message: 'a CONSUMPTION meter belongs to no generation unit' }],
      });
    }
    if (await this.find(request.meterId)) {
      throw new ProblemError(409, 'METER_EXISTS', `meter ${request.meterId} is already registered`);
    }
    const [owner] = (await this.dataSource.query(`SELECT kind, status FROM participants WHERE id = $1`, [
      request.owner,
    ])) as Array<{ kind: string; status: string }>;
    if (!owner) {
      throw new ProblemError(422, 'OWNER_NOT_REGISTERED', `participant ${request.owner} is not registered`);
    }
    if (owner.status !== 'ACTIVE') {
      throw new ProblemError(422, 'OWNER_NOT_ACTIVE', `participant ${request.owner} is ${owner.status}`);
    }
    if (owner.kind !== OWNER_KIND[request.kind]) {
      throw new ProblemError(
        422,
        'OWNER_KIND_MISMATCH',
        `a ${request.kind} meter belongs to a ${OWNER_KIND[request.kind]}; ${request.owner} is a ${owner.kind}`,
      );
    }
    if (request.kind === 'GENERATION') await this.checkUnit(principal, request);
    else await this.checkConsumptionMeter(principal, request);

    const inserted = (await this.dataSource.query(
      `INSERT INTO meters (id, kind, owner, unit_id, interval_minutes, registered_by)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING
       RETURNING id, kind, owner, unit_id, interval_minutes, registered_at`,
      [
        request.meterId,
        request.kind,
        request.owner,
        request.unitId ?? null,
        intervalMinutes,
        principal.keyId,
      ],
    )) as MeterRow[];
    if (inserted.length === 0) {
      throw new ProblemError(409, 'METER_EXISTS', `meter ${request.meterId} is already registered`);
    }
    return meterDto(inserted[0]);
  }

  async find(id: string): Promise<MeterRow | undefined> {
    const [row] = (await this.dataSource.query(
      `SELECT id, kind, owner, unit_id, interval_minutes, registered_at FROM meters WHERE id = $1`,
      [id],
    )) as MeterRow[];
    return row;
  }

  async get(id: string): Promise<MeterRow> {
    const row = await this.find(id);
    if (!row) throw new ProblemError(404, 'METER_NOT_FOUND', `meter ${id} is not registered`);
    return row;
  }

  /**
   * A consumption meter counts as its consumer's consumption on the ledger once registered there
   * (`metering:RegisterConsumptionMeter`). Already registered: it must be the same consumer's. Not yet: the caller
   * registers it now with its own Fabric identity; the chaincode lets the energy platform and the admins do so,
   * the same roles this endpoint serves.
   */
  private async checkConsumptionMeter(principal: Principal, request: RegisterMeterDto): Promise<void> {
    let registered: { consumer?: string } | undefined;
    try {
      const bytes = await this.ledger.evaluate({
        identity: principal.identity,
        transaction: 'metering:GetConsumptionMeter',
        args: [request.meterId],
      });
      registered = JSON.parse(Buffer.from(bytes).toString('utf8')) as { consumer?: string };
    } catch (error) {
      const problem = ledgerProblem(error);
      if (problem?.code !== 'METER_NOT_REGISTERED') throw problem ?? error;
    }
    if (registered) {
      if (registered.consumer !== request.owner) {
        throw new ProblemError(
          422,
          'METER_OWNER_MISMATCH',
          `meter ${request.meterId} is registered on the ledger as a consumption meter of ${registered.consumer}, not ${request.owner}`,
        );
      }
      return;
    }
    try {
      await this.ledger.submit({
        identity: principal.identity,
        transaction: 'metering:RegisterConsumptionMeter',
        args: [JSON.stringify({ meterId: request.meterId, consumer: request.owner })],
      });
    } catch (error) {
      throw ledgerProblem(error) ?? error;
    }
  }

  private async checkUnit(principal: Principal, request: RegisterMeterDto): Promise<void> {
    let unit: { owner?: string; meterIds?: string[] };
    try {
      const bytes = await this.ledger.evaluate({
        identity: principal.identity,
        transaction: 'units:GetUnit',
        args: [request.unitId!],
      });
      unit = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof unit;
    } catch (error) {
      const problem = ledgerProblem(error);
      if (problem?.code === 'UNIT_NOT_FOUND') {
        throw new ProblemError(
          422,
          'UNIT_NOT_FOUND',
          `unit ${request.unitId} is not registered on the ledger`,
        );
      }
      throw problem ?? error;
    }
    if (unit.owner !== request.owner) {
      throw new ProblemError(
        422,
        'UNIT_OWNER_MISMATCH',
        `unit ${request.unitId} belongs to ${unit.owner}, not ${request.owner}`,
      );
    }
    if (!unit.meterIds?.includes(request.meterId)) {
      throw new ProblemError(
        422,
        'METER_NOT_IN_UNIT',
        `unit ${request.unitId} does not list meter ${request.meterId} on the ledger`,
      );
    }
  }
}
