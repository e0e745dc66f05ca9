import { Object as DataType, Property } from 'fabric-contract-api';

/** One serial range a redemption or exchange consumed. */
@DataType()
export class ConsumedRange {
  /** The lot now holding the range (REDEEMED or EXCHANGED). */
  @Property()
  lotId!: string;

  @Property()
  serialStart!: string;

  @Property()
  serialEnd!: string;

  @Property()
  volume!: number;
}

/** Certificates redeemed (兑付/核销) for a beneficiary's consumption: the aggregate statement. */
@DataType()
export class Redemption {
  @Property()
  id!: string;

  /** The holder who redeemed (participant id). */
  @Property()
  owner!: string;

  /** Whose consumption the certificates cover (name as stated by the trading center). */
  @Property()
  beneficiary!: string;

  @Property()
  purpose!: string;

  @Property()
  consumptionStartMonth!: string;

  @Property()
  consumptionEndMonth!: string;

  /** [start of the first month, end of the last month), Asia/Shanghai, RFC 3339 UTC. */
  @Property()
  consumptionPeriodStart!: string;

  @Property()
  consumptionPeriodEnd!: string;

  @Property('ranges', 'ConsumedRange[]')
  ranges!: ConsumedRange[];

  /** Certificates redeemed (MWh). */
  @Property()
  volume!: number;

  @Property()
  redeemedAt!: string;

  @Property()
  redeemedBy!: string;

  @Property()
  redeemedByMsp!: string;

  @Property()
  txId!: string;
}

/** Certificates surrendered at the trading center for green electricity (绿电兑换). */
@DataType()
export class Exchange {
  @Property()
  id!: string;

  @Property()
  owner!: string;

  /** The electricity side's reference (the trading center's contract or settlement number). */
  @Property()
  electricityReference!: string;

  @Property()
  purpose!: string;

  @Property('ranges', 'ConsumedRange[]')
  ranges!: ConsumedRange[];

  @Property()
  volume!: number;

  @Property()
  exchangedAt!: string;

  @Property()
  exchangedBy!: string;

  @Property()
  exchangedByMsp!: string;

  @Property()
  txId!: string;
}

/** The answer of a redemption check (兑付信息核查) for one serial number. */
@DataType()
export class RedemptionCheck {
  @Property()
  serial!: string;

  /** The lot holding the serial. */
  @Property()
  lotId!: string;

  @Property()
  status!: string;

  @Property()
  owner!: string;

  @Property()
  unitId!: string;

  @Property()
  productionMonth!: string;

  /** Whether the certificate has been redeemed (兑付). */
  @Property()
  redeemed!: boolean;

  /** Whether it was surrendered for green electricity (绿电兑换); also final. */
  @Property()
  exchanged!: boolean;

  @Property()
  redemptionId!: string;

  /** By whom: the beneficiary of the redemption ('' when not redeemed). */
  @Property()
  beneficiary!: string;

  /** For what ('' when neither redeemed nor exchanged). */
  @Property()
  purpose!: string;

  @Property()
  consumptionPeriodStart!: string;

  @Property()
  consumptionPeriodEnd!: string;

  /** When it was redeemed or exchanged ('' otherwise). */
  @Property()
  consumedAt!: string;

  /** The transaction that redeemed or exchanged it ('' otherwise). */
  @Property()
  consumedTxId!: string;

  @Property()
  exchangeId!: string;

  @Property()
  electricityReference!: string;
}
