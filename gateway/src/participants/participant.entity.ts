import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from '../database/transformers';

/** The read model of a participant, projected from the chaincode's participant events. */
@Entity({ name: 'participants' })
export class ParticipantEntity {
  @PrimaryColumn({ type: 'varchar' })
  id!: string;

  @Column({ type: 'varchar' })
  kind!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'varchar' })
  region!: string;

  @Column({ type: 'varchar' })
  status!: string;

  @Column({ name: 'status_reason', type: 'text', nullable: true })
  statusReason!: string | null;

  @Column({ name: 'registered_by_msp', type: 'varchar' })
  registeredByMsp!: string;

  @Column({ name: 'registered_by', type: 'text' })
  registeredBy!: string;

  @Column({ name: 'registered_at', type: 'timestamptz' })
  registeredAt!: Date;

  @Column({ name: 'registered_tx_id', type: 'varchar' })
  registeredTxId!: string;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'updated_tx_id', type: 'varchar' })
  updatedTxId!: string;

  @Column({ name: 'block_number', type: 'bigint', transformer: bigintNumber })
  blockNumber!: number;
}
