import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from '../database/transformers';

/** How far a projector has read the ledger: the last event applied (block and transaction). */
@Entity({ name: 'ledger_checkpoints' })
export class CheckpointEntity {
  @PrimaryColumn({ type: 'varchar' })
  name!: string;

  @Column({ name: 'block_number', type: 'bigint', transformer: bigintNumber })
  blockNumber!: number;

  @Column({ name: 'tx_id', type: 'varchar' })
  txId!: string;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

export type ProjectionOutcome = 'APPLIED' | 'IGNORED' | 'MALFORMED';

/** One row per chaincode event projected: a transaction's event can never be applied twice. */
@Entity({ name: 'projected_events' })
export class ProjectedEventEntity {
  @PrimaryColumn({ name: 'tx_id', type: 'varchar' })
  txId!: string;

  @Column({ name: 'block_number', type: 'bigint', transformer: bigintNumber })
  blockNumber!: number;

  @Column({ name: 'tx_number', type: 'integer' })
  txNumber!: number;

  @Column({ name: 'event_name', type: 'varchar' })
  eventName!: string;

  @Column({ type: 'varchar' })
  outcome!: ProjectionOutcome;

  @Column({ name: 'projected_at', type: 'timestamptz' })
  projectedAt!: Date;
}
