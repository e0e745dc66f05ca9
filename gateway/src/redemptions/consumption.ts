import type { ConsumedRange } from '@gec/chaincode';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsOptional,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { SERIAL_EXAMPLE } from '../certificates/certificates.dto';
import { KWH_PER_CERTIFICATE, SERIAL_MESSAGE, SERIAL_PATTERN } from '../certificates/ledger-support';
import { upsertLots } from '../certificates/lot-projection';
import type { ChaincodeEvent } from '../ledger/port';
import { MalformedEventError } from '../projection/projector.service';
import { EntityManager } from 'typeorm';

/** What redemptions (兑付/核销) and exchanges (绿电兑换) share: items of lots, consumed serial ranges. */

@ApiSchema({ description: 'A lot, and how many of its certificates (default all)' })
export class ConsumeItemDto {
  @ApiProperty({ description: 'An ACTIVE lot of the owner', example: SERIAL_EXAMPLE })
  @Matches(SERIAL_PATTERN, { message: `lotId ${SERIAL_MESSAGE}` })
  lotId!: string;

  @ApiPropertyOptional({ description: 'Certificates of the lot (default: all of it)', example: 30 })
  @IsOptional()
  @IsInt({ message: 'certificates must be an integer' })
  @Min(1)
  @Max(9_999_999)
  certificates?: number;
}

export function ItemsProperty() {
  return (target: object, property: string) => {
    ApiProperty({
      type: [ConsumeItemDto],
      description: 'Lots (1–100, each once) and how much of each',
      example: [{ lotId: SERIAL_EXAMPLE, certificates: 30 }],
    })(target, property);
    IsArray()(target, property);
    ArrayMinSize(1)(target, property);
    ArrayMaxSize(100)(target, property);
    ValidateNested({ each: true })(target, property);
    Type(() => ConsumeItemDto)(target, property);
  };
}

export function toChaincodeItems(items: ConsumeItemDto[]): Array<{ lotId: string; volume?: number }> {
  return items.map((item) => ({
    lotId: item.lotId,
    ...(item.certificates === undefined ? {} : { volume: item.certificates }),
  }));
}

@ApiSchema({ description: 'A serial range a redemption or exchange consumed (now final)' })
export class ConsumedRangeDto {
  @ApiProperty({
    description: 'The lot now holding the range (REDEEMED or EXCHANGED)',
    example: SERIAL_EXAMPLE,
  })
  lotId!: string;
  @ApiProperty({ description: 'First serial of the range used', example: SERIAL_EXAMPLE })
  serialStart!: string;
  @ApiProperty({
    description: 'Last serial of the range used',
    example: 'P3309002024000017' + '202609' + '0000030' + 'WT',
  })
  serialEnd!: string;
  @ApiProperty({ description: 'Certificates in the range (1 = 1 MWh)', example: 30 })
  certificates!: number;
  @ApiProperty({ description: 'The same in kWh', example: 30000 })
  volumeKwh!: number;
}

export function toRangeDto(range: ConsumedRange): ConsumedRangeDto {
  return {
    lotId: range.lotId,
    serialStart: range.serialStart,
    serialEnd: range.serialEnd,
    certificates: range.volume,
    volumeKwh: range.volume * KWH_PER_CERTIFICATE,
  };
}

interface Consumption {
  id: string;
  owner: string;
  volume: number;
  txId: string;
  ranges: ConsumedRange[];
}

/** Project `CertificatesRedeemed { redemption, lots }` or `CertificatesExchanged { exchange, lots }`. */
export function consumptionHandler(kind: 'redemption' | 'exchange', at: (doc: never) => string) {
  return async (manager: EntityManager, payload: unknown, event: ChaincodeEvent): Promise<void> => {
    const doc = (payload as Record<string, Consumption> | null)?.[kind];
    if (!doc || typeof doc.id !== 'string' || !Array.isArray(doc.ranges)) {
      throw new MalformedEventError(`${event.eventName} has no ${kind}`);
    }
    await manager.query(
      `INSERT INTO ${kind}s (id, owner, volume, consumed_at, tx_id, block_number, doc)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, block_number = EXCLUDED.block_number`,
      [doc.id, doc.owner, doc.volume, at(doc as never), doc.txId, event.blockNumber, JSON.stringify(doc)],
    );
    for (const range of doc.ranges) {
      await manager.query(
        `INSERT INTO ${kind}_ranges (${kind}_id, lot_id, serial_start, serial_end, volume)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [doc.id, range.lotId, range.serialStart, range.serialEnd, range.volume],
      );
    }
    await upsertLots(manager, (payload as { lots?: unknown }).lots, event);
  };
}
