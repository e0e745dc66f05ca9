import type { Redemption } from '@gec/chaincode';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { Matches, MaxLength, MinLength } from 'class-validator';
import {
  ID_MESSAGE,
  ID_PATTERN,
  iso,
  KWH_PER_CERTIFICATE,
  LedgerProof,
  MONTH_PATTERN,
  proof,
} from '../certificates/ledger-support';
import { SERIAL_EXAMPLE } from '../certificates/certificates.dto';
import { ConsumedRangeDto, ConsumeItemDto, ItemsProperty, toRangeDto } from './consumption';

@ApiSchema({
  description:
    'Redeem (兑付/核销) certificates of one holder for a beneficiary, consumption period and purpose',
})
export class CreateRedemptionDto {
  @ApiProperty({ description: 'Redemption id chosen by the trading center', example: 'RDM-2026-0001' })
  @Matches(ID_PATTERN, { message: `id ${ID_MESSAGE}` })
  id!: string;

  @ApiProperty({
    description: 'The holder redeeming (an ACTIVE generator or consumer)',
    example: 'CON-SH-001',
  })
  @Matches(ID_PATTERN, { message: `owner ${ID_MESSAGE}` })
  owner!: string;

  @ApiProperty({
    description: 'Whose consumption the certificates cover',
    example: '上海某制造有限公司',
    maxLength: 200,
  })
  @MinLength(1)
  @MaxLength(200)
  beneficiary!: string;

  @ApiProperty({ description: 'For what', example: '2026 年度绿电消费声明', maxLength: 256 })
  @MinLength(1)
  @MaxLength(256)
  purpose!: string;

  @ApiProperty({ description: 'First consumption month (YYYY-MM)', example: '2026-01' })
  @Matches(MONTH_PATTERN, { message: 'consumptionStartMonth must be YYYY-MM' })
  consumptionStartMonth!: string;

  @ApiProperty({ description: 'Last consumption month, inclusive (YYYY-MM)', example: '2026-12' })
  @Matches(MONTH_PATTERN, { message: 'consumptionEndMonth must be YYYY-MM' })
  consumptionEndMonth!: string;

  @ItemsProperty()
  items!: ConsumeItemDto[];
}

@ApiSchema({
  description:
    'A redemption statement: beneficiary, consumption period, purpose and the serial ranges redeemed',
})
export class RedemptionDto {
  @ApiProperty({ description: 'Redemption id', example: 'RDM-2026-0001' })
  id!: string;
  @ApiProperty({ description: 'The participant whose certificates were redeemed', example: 'CON-SH-001' })
  owner!: string;
  @ApiProperty({ description: 'Whom the green consumption is claimed for', example: '上海某制造有限公司' })
  beneficiary!: string;
  @ApiProperty({ description: 'What the redemption is for', example: '2026 年度绿电消费声明' })
  purpose!: string;
  @ApiProperty({ description: 'First month of the consumption period, YYYY-MM', example: '2026-01' })
  consumptionStartMonth!: string;
  @ApiProperty({ description: 'Last month of the consumption period, YYYY-MM', example: '2026-12' })
  consumptionEndMonth!: string;
  @ApiProperty({
    description: 'Start of the consumption period (given in UTC)',
    example: '2025-12-31T16:00:00.000Z',
  })
  consumptionPeriodStart!: string;
  @ApiProperty({
    description: 'End of the consumption period, exclusive (given in UTC)',
    example: '2026-12-31T16:00:00.000Z',
  })
  consumptionPeriodEnd!: string;
  @ApiProperty({
    type: [ConsumedRangeDto],
    description: 'The serial ranges consumed, one per lot',
    example: [
      {
        lotId: SERIAL_EXAMPLE,
        serialStart: SERIAL_EXAMPLE,
        serialEnd: SERIAL_EXAMPLE,
        certificates: 30,
        volumeKwh: 30000,
      },
    ],
  })
  ranges!: ConsumedRangeDto[];
  @ApiProperty({ description: 'Certificates redeemed', example: 30 })
  certificates!: number;
  @ApiProperty({ description: 'Volume redeemed in kWh', example: 30000 })
  volumeKwh!: number;
  @ApiProperty({
    description: 'When it was redeemed (ledger time, UTC)',
    example: '2026-11-21T08:00:00.000Z',
  })
  redeemedAt!: string;
  @ApiProperty({
    description: 'MSP of the redeeming organisation (the trading center)',
    example: 'TradingCenterMSP',
  })
  redeemedByMsp!: string;
  @ApiProperty({ description: 'Ledger proof of the redemption transaction', type: LedgerProof })
  ledger!: LedgerProof;
}

export function toRedemptionDto(redemption: Redemption, blockNumber: number): RedemptionDto {
  return {
    id: redemption.id,
    owner: redemption.owner,
    beneficiary: redemption.beneficiary,
    purpose: redemption.purpose,
    consumptionStartMonth: redemption.consumptionStartMonth,
    consumptionEndMonth: redemption.consumptionEndMonth,
    consumptionPeriodStart: iso(redemption.consumptionPeriodStart),
    consumptionPeriodEnd: iso(redemption.consumptionPeriodEnd),
    ranges: redemption.ranges.map(toRangeDto),
    certificates: redemption.volume,
    volumeKwh: redemption.volume * KWH_PER_CERTIFICATE,
    redeemedAt: iso(redemption.redeemedAt),
    redeemedByMsp: redemption.redeemedByMsp,
    ledger: proof(redemption.txId, blockNumber, redemption.redeemedAt),
  };
}
