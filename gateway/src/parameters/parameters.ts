import type { ConsortiumParameters } from '@gec/chaincode';
import { Body, Controller, Get, HttpCode, Injectable, Module, Post } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiSchema,
  ApiTags,
} from '@nestjs/swagger';
import { IsInt, IsOptional, Max, MaxLength, Min, MinLength } from 'class-validator';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ServedBy } from '../organisation/served-by';
import type { Principal } from '../auth/roles';
import { iso, LedgerGateway, LedgerProof, orNull, proof } from '../certificates/ledger-support';
import { ApiProblems } from '../common/openapi';

/**
 * Consortium parameters held on chain (parameters contract): validity, issuance window, transfer size limits, pause / resume of
 * every write. Read straight from the ledger (one small object); changed only by a consortium admin.
 */

const READERS = ['admin', 'trading-center', 'energy-platform', 'regulator'] as const;

@ApiSchema({ description: 'Consortium parameters to change (at least one), with a reason' })
export class SetParametersDto {
  @ApiPropertyOptional({
    description: 'Certificate validity in months from the production month (1–600)',
    example: 24,
  })
  @IsOptional()
  @IsInt({ message: 'validityMonths must be an integer' })
  @Min(1)
  @Max(600)
  validityMonths?: number;

  @ApiPropertyOptional({
    description:
      'Months after a production month ends during which its certificates may still be issued (1–599, below ' +
      'validityMonths); later issuance is refused with 422 ISSUANCE_WINDOW_CLOSED, so no certificate is born expired',
    example: 12,
  })
  @IsOptional()
  @IsInt({ message: 'issuanceWindowMonths must be an integer' })
  @Min(1)
  @Max(599)
  issuanceWindowMonths?: number;

  @ApiPropertyOptional({ description: 'Fewest certificates one transfer or sale may move', example: 1 })
  @IsOptional()
  @IsInt({ message: 'minTransferVolume must be an integer' })
  @Min(1)
  @Max(9_999_999)
  minTransferVolume?: number;

  @ApiPropertyOptional({ description: 'Most certificates one transfer or sale may move', example: 9999999 })
  @IsOptional()
  @IsInt({ message: 'maxTransferVolume must be an integer' })
  @Min(1)
  @Max(9_999_999)
  maxTransferVolume?: number;

  @ApiProperty({ description: 'Why (kept on the ledger)', example: 'NEA notice 2026-12', maxLength: 256 })
  @MinLength(1)
  @MaxLength(256)
  reason!: string;
}

@ApiSchema({ description: 'Why (kept on the ledger)' })
export class ReasonDto {
  @ApiProperty({
    description: 'Why (kept on the ledger; named in every refused write)',
    example: 'annual audit',
    maxLength: 256,
  })
  @MinLength(1)
  @MaxLength(256)
  reason!: string;
}

@ApiSchema({ description: 'Who paused the consortium, when, why, and the transaction' })
export class PauseDto {
  @ApiProperty({ description: 'MSP of the organisation that paused the consortium', example: 'GridMSP' })
  pausedByMsp!: string;
  @ApiProperty({ description: 'When it was paused (ledger time, UTC)', example: '2026-11-21T08:00:00.000Z' })
  pausedAt!: string;
  @ApiProperty({ description: 'Why, as given', example: 'annual audit' })
  reason!: string;
  @ApiProperty({
    description: 'Ledger transaction of the pause',
    example: '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b',
  })
  txId!: string;
}

@ApiSchema({ description: 'The consortium parameters in force: validity, transfer size limits, pause' })
export class ParametersDto {
  @ApiProperty({
    description: 'Certificate validity in months, counted from the production month',
    example: 24,
  })
  validityMonths!: number;
  @ApiProperty({
    description: 'Months after a production month ends during which its certificates may still be issued',
    example: 12,
  })
  issuanceWindowMonths!: number;
  @ApiProperty({ description: 'Fewest certificates one transfer or sale may move', example: 1 })
  minTransferVolume!: number;
  @ApiProperty({ description: 'Most certificates one transfer or sale may move', example: 9999999 })
  maxTransferVolume!: number;
  @ApiProperty({
    description: 'While true every write is refused with 409 CONSORTIUM_PAUSED',
    example: false,
  })
  paused!: boolean;
  @ApiProperty({
    description: 'The pause in force; null while the consortium runs',
    type: PauseDto,
    nullable: true,
    example: null,
  })
  pause!: PauseDto | null;
  @ApiProperty({ nullable: true, type: String, description: 'null while the defaults apply', example: null })
  updatedAt!: string | null;
  @ApiProperty({
    description: 'MSP that last set the parameters; null while they are the defaults',
    example: 'GridMSP',
    nullable: true,
    type: String,
  })
  updatedByMsp!: string | null;
  @ApiProperty({
    type: LedgerProof,
    nullable: true,
    description: 'The last change (null while the defaults apply)',
    // The property is `anyOf: [LedgerProof, null]` in the document: the example shows the null case, as the
    // other fields' examples do.
    example: null,
  })
  ledger!: LedgerProof | null;
}

function toDto(p: ConsortiumParameters, blockNumber: number | null): ParametersDto {
  return {
    validityMonths: p.validityMonths,
    issuanceWindowMonths: p.issuanceWindowMonths,
    minTransferVolume: p.minTransferVolume,
    maxTransferVolume: p.maxTransferVolume,
    paused: p.paused,
    pause: p.paused
      ? { pausedByMsp: p.pausedByMsp, pausedAt: iso(p.pausedAt), reason: p.pauseReason, txId: p.pausedTxId }
      : null,
    updatedAt: p.updatedAt ? iso(p.updatedAt) : null,
    updatedByMsp: orNull(p.updatedByMsp),
    ledger: p.updatedTxId && blockNumber !== null ? proof(p.updatedTxId, blockNumber, p.updatedAt) : null,
  };
}

@Injectable()
export class ParametersService {
  constructor(private readonly ledger: LedgerGateway) {}

  async get(principal: Principal): Promise<ParametersDto> {
    const parameters = await this.ledger.evaluate<ConsortiumParameters>(
      principal.identity,
      'parameters:GetParameters',
    );
    const blockNumber = parameters.updatedTxId ? await this.ledger.blockOf(parameters.updatedTxId) : null;
    return toDto(parameters, blockNumber);
  }

  async write(
    principal: Principal,
    fn: 'SetParameters' | 'Pause' | 'Resume',
    body: object,
  ): Promise<ParametersDto> {
    const { tx, result } = await this.ledger.submit<ConsortiumParameters>(
      principal.identity,
      `parameters:${fn}`,
      body,
    );
    return toDto(result, tx.blockNumber);
  }
}

@ApiTags('parameters')
@Controller('v1/parameters')
export class ParametersController {
  constructor(private readonly parameters: ParametersService) {}

  @Get()
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'getParameters',
    summary: 'The consortium parameters in force (validity, transfer limits, pause)',
  })
  @ApiOkResponse({ type: ParametersDto })
  get(@CurrentPrincipal() principal: Principal): Promise<ParametersDto> {
    return this.parameters.get(principal);
  }

  @Post()
  @HttpCode(200)
  @Roles('admin')
  @ServedBy('PLATFORM_OPERATOR', 'TRADING_CENTER')
  @ApiOperation({
    operationId: 'setParameters',
    summary: 'Change parameters',
    description: 'Submits parameters:SetParameters (consortium admin).',
  })
  @ApiOkResponse({ type: ParametersDto })
  @ApiProblems(400, 409, 502)
  set(@Body() body: SetParametersDto, @CurrentPrincipal() principal: Principal): Promise<ParametersDto> {
    return this.parameters.write(principal, 'SetParameters', body);
  }

  @Post('pause')
  @HttpCode(200)
  @Roles('admin')
  @ServedBy('PLATFORM_OPERATOR', 'TRADING_CENTER')
  @ApiOperation({
    operationId: 'pauseConsortium',
    summary: 'Pause every write of every contract',
    description:
      'Submits parameters:Pause. Reads stay open; every refused write answers 409 CONSORTIUM_PAUSED naming the pause.',
  })
  @ApiOkResponse({ type: ParametersDto })
  @ApiProblems(400, 409, 502)
  pause(@Body() body: ReasonDto, @CurrentPrincipal() principal: Principal): Promise<ParametersDto> {
    return this.parameters.write(principal, 'Pause', body);
  }

  @Post('resume')
  @HttpCode(200)
  @Roles('admin')
  @ServedBy('PLATFORM_OPERATOR', 'TRADING_CENTER')
  @ApiOperation({
    operationId: 'resumeConsortium',
    summary: 'Resume writes',
    description: 'Submits parameters:Resume; 409 NOT_PAUSED when not paused.',
  })
  @ApiOkResponse({ type: ParametersDto })
  @ApiProblems(400, 409, 502)
  resume(@Body() body: ReasonDto, @CurrentPrincipal() principal: Principal): Promise<ParametersDto> {
    return this.parameters.write(principal, 'Resume', body);
  }
}

@Module({ controllers: [ParametersController], providers: [ParametersService, LedgerGateway] })
export class ParametersModule {}
