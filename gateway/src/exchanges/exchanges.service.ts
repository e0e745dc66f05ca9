import type { Exchange } from '@gec/chaincode';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/roles';
import { DocRow, LedgerGateway, projectedPage } from '../certificates/ledger-support';
import { DEFAULT_LIMIT, Page, PageQueryDto } from '../common/pagination';
import { ProblemError } from '../common/problem';
import { Projector } from '../projection/projector.service';
import { consumptionHandler, toChaincodeItems } from '../redemptions/consumption';
import { CreateExchangeDto, ExchangeDto, toExchangeDto } from './exchanges.dto';

/** Exchanges: writes to redemption:Exchange, reads from the `exchanges` projection. */
@Injectable()
export class ExchangesService implements OnModuleInit {
  constructor(
    private readonly ledger: LedgerGateway,
    private readonly projector: Projector,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    this.projector.on(
      'CertificatesExchanged',
      consumptionHandler('exchange', (doc: Exchange) => doc.exchangedAt),
    );
  }

  async create(principal: Principal, request: CreateExchangeDto): Promise<ExchangeDto> {
    const { id, items, ...rest } = request;
    const { tx, result } = await this.ledger.submit<Exchange>(principal.identity, 'redemption:Exchange', {
      exchangeId: id,
      ...rest,
      items: toChaincodeItems(items),
    });
    return toExchangeDto(result, tx.blockNumber);
  }

  async get(id: string): Promise<ExchangeDto> {
    const rows = (await this.dataSource.query('SELECT doc, block_number FROM exchanges WHERE id = $1', [
      id,
    ])) as Array<DocRow<Exchange>>;
    if (rows.length === 0) throw new ProblemError(404, 'EXCHANGE_NOT_FOUND', `exchange ${id} does not exist`);
    return toExchangeDto(rows[0].doc, Number(rows[0].block_number));
  }

  async list(query: PageQueryDto & { owner?: string }): Promise<Page<ExchangeDto>> {
    const page = await projectedPage<Exchange>((sql, params) => this.dataSource.query(sql, params), {
      table: 'exchanges',
      keys: ['id'],
      filters: query.owner ? [['owner = ?', query.owner]] : [],
      limit: query.limit ?? DEFAULT_LIMIT,
      cursor: query.cursor,
    });
    return {
      items: page.rows.map((row) => toExchangeDto(row.doc, Number(row.block_number))),
      nextCursor: page.nextCursor,
    };
  }
}
