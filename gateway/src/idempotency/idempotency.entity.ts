import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The first answer to a POST with an Idempotency-Key, replayed for the same key and body. */
@Entity({ name: 'idempotency_keys' })
export class IdempotencyEntity {
  @PrimaryColumn({ name: 'api_key_id', type: 'uuid' })
  apiKeyId!: string;

  @PrimaryColumn({ type: 'varchar' })
  key!: string;

  @Column({ type: 'varchar' })
  method!: string;

  @Column({ type: 'text' })
  path!: string;

  @Column({ name: 'request_hash', type: 'char', length: 64 })
  requestHash!: string;

  @Column({ type: 'varchar' })
  state!: 'IN_PROGRESS' | 'COMPLETED';

  @Column({ name: 'status_code', type: 'integer', nullable: true })
  statusCode!: number | null;

  @Column({ type: 'jsonb', nullable: true })
  response!: unknown;

  /** Ledger writes of the request, recorded before each was submitted (see JournaledLedger). */
  @Column({ name: 'ledger_writes', type: 'jsonb' })
  ledgerWrites!: unknown[];

  /** The gateway instance running the request while IN_PROGRESS; NULL when released for a retry. */
  @Column({ type: 'uuid', nullable: true })
  owner!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
