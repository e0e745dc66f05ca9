import type { Exchange } from '@gec/chaincode';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsOptional, Matches, MaxLength, MinLength } from 'class-validator';
import {
  ID_MESSAGE,
  ID_PATTERN,
  iso,
  KWH_PER_CERTIFICATE,
  LedgerProof,
  orNull,
  proof,
} from '../certificates/ledger-support';
import { SERIAL_EXAMPLE } from '../certificates/certificates.dto';
import { ConsumedRangeDto, ConsumeItemDto, ItemsProperty, toRangeDto } from '../redemptions/consumption';

@ApiSchema({
  description:
    'Surrender certificates for green electricity (绿电兑换), with the electricity side’s reference',
})
export class CreateExchangeDto {
  @ApiProperty({ description: 'Exchange id chosen by the trading center', example: 'EXC-2026-0001' })
  @Matches(ID_PATTERN, { message: `id ${ID_MESSAGE}` })
  id!: string;

  @ApiProperty({ description: 'The holder surrendering the certificates', example: 'CON-SH-001' })
  @Matches(ID_PATTERN, { message: `owner ${ID_MESSAGE}` })
  owner!: string;

  @ApiProperty({
    description: 'The electricity side’s reference (the trading center’s contract or settlement number)',
    example: 'SETTLE-2026-11-000123',
    maxLength: 256,
  })
  @MinLength(1)
  @MaxLength(256)
  electricityReference!: string;

  @ApiPropertyOptional({ description: 'For what', example: '11 月绿电交易结算', maxLength: 256 })
  @IsOptional()
  @MinLength(1)
  @MaxLength(256)
  purpose?: string;

  @ItemsProperty()
  items!: ConsumeItemDto[];
}

@ApiSchema({
  description:
    'An exchange: the certificates surrendered for green electricity and the electricity side’s reference',
})
export class ExchangeDto {
  @ApiProperty({ description: 'Exchange id', example: 'EXC-2026-0001' })
  id!: string;
  @ApiProperty({ description: 'The participant whose certificates were surrendered', example: 'CON-SH-001' })
  owner!: string;
  @ApiProperty({
    description: 'The trading center’s settlement reference for the green electricity',
    example: 'SETTLE-2026-11-000123',
  })
  electricityReference!: string;
  @ApiProperty({
    description: 'Free text; null when none was given',
    nullable: true,
    type: String,
    example: '11 月绿电交易结算',
  })
  purpose!: string | null;
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
  @ApiProperty({ description: 'Certificates surrendered', example: 10 })
  certificates!: number;
  @ApiProperty({ description: 'Volume surrendered in kWh', example: 10000 })
  volumeKwh!: number;
  @ApiProperty({
    description: 'When it was exchanged (ledger time, UTC)',
    example: '2026-11-21T08:00:00.000Z',
  })
  exchangedAt!: string;
  @ApiProperty({
    description: 'MSP of the organisation that recorded it (the trading center)',
    example: 'TradingCenterMSP',
  })
  exchangedByMsp!: string;
  @ApiProperty({ description: 'Ledger proof of the exchange transaction', type: LedgerProof })
  ledger!: LedgerProof;
}

export function toExchangeDto(exchange: Exchange, blockNumber: number): ExchangeDto {
  return {
    id: exchange.id,
    owner: exchange.owner,
    electricityReference: exchange.electricityReference,
    purpose: orNull(exchange.purpose),
    ranges: exchange.ranges.map(toRangeDto),
    certificates: exchange.volume,
    volumeKwh: exchange.volume * KWH_PER_CERTIFICATE,
    exchangedAt: iso(exchange.exchangedAt),
    exchangedByMsp: exchange.exchangedByMsp,
    ledger: proof(exchange.txId, blockNumber, exchange.exchangedAt),
  };
}
