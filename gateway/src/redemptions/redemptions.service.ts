import type { Redemption } from '@gec/chaincode';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/roles';
import { DocRow, LedgerGateway, projectedPage } from '../certificates/ledger-support';
import { DEFAULT_LIMIT, Page, PageQueryDto } from '../common/pagination';
import { ProblemError } from '../common/problem';
import { Projector } from '../projection/projector.service';
import { consumptionHandler, toChaincodeItems } from '../redemptions/consumption';
import { CreateRedemptionDto, RedemptionDto, toRedemptionDto } from './redemptions.dto';

/** Redemptions: writes to redemption:Redeem, reads from the `redemptions` projection. */
@Injectable()
export class RedemptionsService implements OnModuleInit {
  constructor(
    private readonly ledger: LedgerGateway,
    private readonly projector: Projector,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    this.projector.on(
      'CertificatesRedeemed',
      consumptionHandler('redemption', (doc: Redemption) => doc.redeemedAt),
    );
  }

  async create(principal: Principal, request: CreateRedemptionDto): Promise<RedemptionDto> {
    const { id, items, ...rest } = request;
    const { tx, result } = await this.ledger.submit<Redemption>(principal.identity, 'redemption:Redeem', {
      redemptionId: id,
      ...rest,
      items: toChaincodeItems(items),
    });
    return toRedemptionDto(result, tx.blockNumber);
  }

  async get(id: string): Promise<RedemptionDto> {
    const rows = (await this.dataSource.query('SELECT doc, block_number FROM redemptions WHERE id = $1', [
      id,
    ])) as Array<DocRow<Redemption>>;
    if (rows.length === 0)
      throw new ProblemError(404, 'REDEMPTION_NOT_FOUND', `redemption ${id} does not exist`);
    return toRedemptionDto(rows[0].doc, Number(rows[0].block_number));
  }

  async list(query: PageQueryDto & { owner?: string }): Promise<Page<RedemptionDto>> {
    const page = await projectedPage<Redemption>((sql, params) => this.dataSource.query(sql, params), {
      table: 'redemptions',
      keys: ['id'],
      filters: query.owner ? [['owner = ?', query.owner]] : [],
      limit: query.limit ?? DEFAULT_LIMIT,
      cursor: query.cursor,
    });
    return {
      items: page.rows.map((row) => toRedemptionDto(row.doc, Number(row.block_number))),
      nextCursor: page.nextCursor,
    };
  }
}
