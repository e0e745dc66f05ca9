import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/roles';
import { APP_CONFIG, AppConfig } from '../config/config';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor, Page } from '../common/pagination';
import { ProblemError } from '../common/problem';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { LedgerPort, SubmittedTransaction } from '../ledger/port';
import { Projector } from '../projection/projector.service';
import { asLedgerParticipant, LedgerParticipant, projectParticipant } from './participant-events';
import { ParticipantEntity } from './participant.entity';
import {
  ChangeParticipantStatusDto,
  ListParticipantsQueryDto,
  ParticipantDto,
  RegisterParticipantDto,
} from './participants.dto';

/** A projected participant (its entity) as the API shows it. */
export function toParticipantDto(entity: ParticipantEntity): ParticipantDto {
  return {
    id: entity.id,
    kind: entity.kind,
    name: entity.name,
    region: entity.region,
    status: entity.status,
    statusReason: entity.statusReason,
    registeredByMsp: entity.registeredByMsp,
    registeredAt: entity.registeredAt.toISOString(),
    updatedAt: entity.updatedAt.toISOString(),
    ledger: {
      txId: entity.updatedTxId,
      blockNumber: entity.blockNumber,
      validationCode: 'VALID',
      committedAt: entity.updatedAt.toISOString(),
    },
  };
}

function fromLedger(participant: LedgerParticipant, tx: SubmittedTransaction): ParticipantDto {
  return {
    id: participant.id,
    kind: participant.kind,
    name: participant.name,
    region: participant.region,
    status: participant.status,
    statusReason: participant.statusReason || null,
    registeredByMsp: participant.registeredByMsp,
    registeredAt: new Date(participant.registeredAt).toISOString(),
    updatedAt: new Date(participant.updatedAt).toISOString(),
    ledger: {
      txId: participant.updatedTxId,
      blockNumber: tx.blockNumber,
      validationCode: tx.validationCode,
      committedAt: new Date(participant.updatedAt).toISOString(),
    },
  };
}

/**
 * Participants: writes go to the `identity` contract through the ledger port; reads come from the
 * projection. A write answers once its own event is projected, so a GET right after it sees the change.
 */
@Injectable()
export class ParticipantsService implements OnModuleInit {
  private readonly logger = new Logger('Participants');

  constructor(
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly projector: Projector,
  ) {}

  onModuleInit(): void {
    this.projector.on('ParticipantRegistered', projectParticipant);
    this.projector.on('ParticipantStatusChanged', projectParticipant);
  }

  async register(principal: Principal, request: RegisterParticipantDto): Promise<ParticipantDto> {
    const { creditCode, ...publicFields } = request;
    const tx = await this.ledger.submit({
      identity: principal.identity,
      transaction: 'identity:RegisterParticipant',
      args: [
        JSON.stringify({
          id: publicFields.id,
          kind: publicFields.kind,
          name: publicFields.name,
          region: publicFields.region,
        }),
      ],
      transient: { creditCode },
    });
    return this.answer(tx, principal, request.id);
  }

  async changeStatus(
    principal: Principal,
    id: string,
    request: ChangeParticipantStatusDto,
  ): Promise<ParticipantDto> {
    const tx = await this.ledger.submit({
      identity: principal.identity,
      transaction: 'identity:SetParticipantStatus',
      args: [JSON.stringify({ id, status: request.status, reason: request.reason })],
    });
    return this.answer(tx, principal, id);
  }

  async get(id: string): Promise<ParticipantDto> {
    const entity = await this.dataSource.getRepository(ParticipantEntity).findOneBy({ id });
    if (!entity) throw new ProblemError(404, 'PARTICIPANT_NOT_FOUND', `participant ${id} is not registered`);
    return toParticipantDto(entity);
  }

  async list(query: ListParticipantsQueryDto): Promise<Page<ParticipantDto>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const after = decodeCursor(query.cursor, ['id']);
    const builder = this.dataSource
      .getRepository(ParticipantEntity)
      .createQueryBuilder('p')
      .orderBy('p.id', 'ASC')
      .limit(limit + 1);
    if (query.kind) builder.andWhere('p.kind = :kind', { kind: query.kind });
    if (query.status) builder.andWhere('p.status = :status', { status: query.status });
    if (after) builder.andWhere('p.id > :after', { after: after.id });
    const rows = await builder.getMany();
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toParticipantDto),
      nextCursor: rows.length > limit && last ? encodeCursor({ id: last.id }) : null,
    };
  }

  /**
   * The answer to a write, once its event is projected (so a GET right after sees it): the participant as
   * written by this transaction. If the projection lags beyond PROJECTION_WAIT_MS, the ledger is asked.
   */
  private async answer(tx: SubmittedTransaction, principal: Principal, id: string): Promise<ParticipantDto> {
    const projected = await this.projector.waitFor(tx.txId, tx.blockNumber, this.config.projectionWaitMs);
    if (projected) {
      const entity = await this.dataSource.getRepository(ParticipantEntity).findOneBy({ id });
      if (entity && entity.updatedTxId === tx.txId) return toParticipantDto(entity);
    } else {
      this.logger.warn(`tx ${tx.txId} committed but not projected within ${this.config.projectionWaitMs} ms`);
    }
    const bytes = await this.ledger.evaluate({
      identity: principal.identity,
      transaction: 'identity:GetParticipant',
      args: [id],
    });
    return fromLedger(asLedgerParticipant(JSON.parse(Buffer.from(bytes).toString('utf8'))), tx);
  }
}
