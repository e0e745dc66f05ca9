import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Role } from './roles';

/** An API key: only its SHA-256 hash is stored. */
@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ type: 'varchar' })
  label!: string;

  @Column({ type: 'varchar' })
  role!: Role;

  @Column({ name: 'acts_for', type: 'varchar' })
  actsFor!: string;

  @Column({ name: 'msp_id', type: 'varchar' })
  mspId!: string;

  @Column({ name: 'identity_name', type: 'varchar' })
  identityName!: string;

  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash!: string;

  @Column({ name: 'key_prefix', type: 'varchar' })
  keyPrefix!: string;

  /** State-changing requests must carry a valid X-Gec-Signature (see request-signing.ts). */
  @Column({ name: 'require_signature', type: 'boolean', default: false })
  requireSignature!: boolean;

  /** Trading-center keys: where the final state of this key's trades is POSTed, unless a trade names its own. */
  @Column({ name: 'callback_url', type: 'varchar', nullable: true })
  callbackUrl!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy!: string | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'revoked_by', type: 'uuid', nullable: true })
  revokedBy!: string | null;
}
