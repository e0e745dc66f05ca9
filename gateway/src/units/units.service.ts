import type { GenerationUnit } from '@gec/chaincode';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/roles';
import { DEFAULT_LIMIT, Page } from '../common/pagination';
import { ProblemError } from '../common/problem';
import { DocRow, LedgerGateway, projectedPage } from '../certificates/ledger-support';
import { Projector } from '../projection/projector.service';
import { projectUnitEvent } from './unit-projection';
import { ChangeUnitStatusDto, ListUnitsQueryDto, RegisterUnitDto, toUnitDto, UnitDto } from './units.dto';

/** Generation units: writes to the `units` contract, reads from the `units` projection. */
/** The list's filters, which the export shares: `[condition with ?, value]` for each one given. */
export function unitFilters(query: { owner?: string; status?: string }): Array<[string, unknown]> {
  const filters: Array<[string, unknown]> = [];
  if (query.owner) filters.push(['owner = ?', query.owner]);
  if (query.status) filters.push(['status = ?', query.status]);
  return filters;
}

@Injectable()
export class UnitsService implements OnModuleInit {
  constructor(
    private readonly ledger: LedgerGateway,
    private readonly projector: Projector,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    this.projector.on('UnitRegistered', projectUnitEvent);
    this.projector.on('UnitStatusChanged', projectUnitEvent);
  }

  async register(principal: Principal, request: RegisterUnitDto): Promise<UnitDto> {
    const { tx, result } = await this.ledger.submit<GenerationUnit>(
      principal.identity,
      'units:RegisterUnit',
      request,
    );
    return toUnitDto(result, tx.blockNumber);
  }

  async changeStatus(principal: Principal, id: string, request: ChangeUnitStatusDto): Promise<UnitDto> {
    const { tx, result } = await this.ledger.submit<GenerationUnit>(
      principal.identity,
      'units:SetUnitStatus',
      {
        id,
        status: request.status,
        reason: request.reason,
      },
    );
    return toUnitDto(result, tx.blockNumber);
  }

  async get(id: string): Promise<UnitDto> {
    const rows = (await this.dataSource.query('SELECT doc, block_number FROM units WHERE id = $1', [
      id,
    ])) as Array<DocRow<GenerationUnit>>;
    if (rows.length === 0) throw new ProblemError(404, 'UNIT_NOT_FOUND', `unit ${id} is not registered`);
    return toUnitDto(rows[0].doc, Number(rows[0].block_number));
  }

  async list(query: ListUnitsQueryDto): Promise<Page<UnitDto>> {
    const filters = unitFilters(query);
    const page = await projectedPage<GenerationUnit>((sql, params) => this.dataSource.query(sql, params), {
      table: 'units',
      keys: ['id'],
      filters,
      limit: query.limit ?? DEFAULT_LIMIT,
      cursor: query.cursor,
    });
    return {
      items: page.rows.map((row) => toUnitDto(row.doc, Number(row.block_number))),
      nextCursor: page.nextCursor,
    };
  }
}
