import { Object as DataType, Property } from 'fabric-contract-api';

/** One version of a meter–period attestation. */
@DataType()
export class MeterAttestationVersion {
  @Property()
  version!: number;

  /** Total energy of the period in Wh, as a decimal string. */
  @Property()
  totalWh!: string;

  /** Merkle root (SHA-256, 64 hex) of the interval readings behind the total. */
  @Property()
  digest!: string;

  /** Why this version corrects the previous one ('' for version 1). */
  @Property()
  reason!: string;

  @Property()
  attestedAt!: string;

  @Property()
  attestedBy!: string;

  @Property()
  attestedByMsp!: string;

  @Property()
  txId!: string;
}

/**
 * The grid operator's attestation of one meter's total for one calendar month (Asia/Shanghai). The top-level
 * fields are the current version (the one issuance uses); `versions` holds every version, oldest first.
 */
@DataType()
export class MeterAttestation {
  @Property()
  meterId!: string;

  /** `YYYY-MM`. */
  @Property()
  period!: string;

  @Property()
  periodStart!: string;

  @Property()
  periodEnd!: string;

  @Property()
  version!: number;

  @Property()
  totalWh!: string;

  @Property()
  digest!: string;

  @Property()
  reason!: string;

  @Property()
  attestedAt!: string;

  @Property()
  attestedBy!: string;

  @Property()
  attestedByMsp!: string;

  @Property()
  txId!: string;

  @Property('versions', 'MeterAttestationVersion[]')
  versions!: MeterAttestationVersion[];
}
