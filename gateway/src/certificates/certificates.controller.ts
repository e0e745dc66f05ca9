import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ServedBy } from '../organisation/served-by';
import type { Principal } from '../auth/roles';
import type { HttpResponse as Response } from '../common/http';
import { ApiProblems, locationHeader } from '../common/openapi';
import { ProblemError } from '../common/problem';
import { IDEMPOTENCY_HEADER } from '../idempotency/idempotency.service';
import { IDEMPOTENCY_DOC } from '../units/units.controller';
import {
  IssuanceDto,
  IssuancePageDto,
  IssueDto,
  ListIssuancesQueryDto,
  ListLotsQueryDto,
  LotChangeDto,
  LotDto,
  LotHistoryDto,
  LotPageDto,
  RedemptionCheckDto,
  SERIAL_EXAMPLE,
  SplitLotDto,
  TransferLotDto,
  WithdrawLotDto,
} from './certificates.dto';
import { ProvenanceDto, VoucherProvenanceDto } from './provenance.dto';
import { CertificatesService } from './certificates.service';
import { checkSerial, LedgerGateway } from './ledger-support';

const READERS = ['admin', 'trading-center', 'energy-platform', 'regulator'] as const;

function reply<T>(res: Response, result: { status: number; body: T; replayed: boolean }): T {
  res.status(result.status);
  if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
  return result.body;
}

@ApiTags('issuances')
@Controller('v1/issuances')
export class IssuancesController {
  constructor(
    private readonly certificates: CertificatesService,
    private readonly ledger: LedgerGateway,
  ) {}

  @Post()
  @Roles('admin')
  @ServedBy('PLATFORM_OPERATOR')
  @ApiOperation({
    operationId: 'issueCertificates',
    summary: 'Issue the certificates of a unit for a production month (注册绿证)',
    description:
      'Submits certificates:Issue as the issuing body (GridMSP admin). Issues floor((attested Wh of every meter ' +
      'of the unit + carried Wh) / 1,000,000) certificates as one lot of consecutive serials owned by the unit’s ' +
      'owner, and carries the remainder to the next month. Once per unit and month, month by month. Supports ' +
      'Idempotency-Key.',
  })
  @ApiHeader(IDEMPOTENCY_DOC)
  @ApiCreatedResponse({
    type: IssuanceDto,
    headers: locationHeader('the issued lot (absent when the issuance created no lot)', false),
  })
  @ApiProblems(400, 404, 409, 422, 502)
  async issue(
    @Body() body: IssueDto,
    @CurrentPrincipal() principal: Principal,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<IssuanceDto> {
    const result = await this.ledger.idempotent(principal, idempotencyKey, '/v1/issuances', body, 201, () =>
      this.certificates.issue(principal, body),
    );
    if (result.body.lotId) res.setHeader('Location', `/v1/lots/${result.body.lotId}`);
    return reply(res, result);
  }

  @Get()
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'listIssuances',
    summary: 'List issuances (filter by unit and month; cursor pagination, ordered by id)',
  })
  @ApiOkResponse({ type: IssuancePageDto })
  @ApiProblems(400)
  list(@Query() query: ListIssuancesQueryDto): Promise<IssuancePageDto> {
    return this.certificates.listIssuances(query);
  }
}

@ApiTags('lots')
@Controller('v1/lots')
export class LotsController {
  constructor(
    private readonly certificates: CertificatesService,
    private readonly ledger: LedgerGateway,
  ) {}

  @Get()
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'listLots',
    summary: 'Search lots',
    description:
      'Filters combine: owner, unitId, status, productionMonth, and serial (the one lot holding that serial ' +
      'number). Cursor pagination, ordered by lot id.',
  })
  @ApiOkResponse({ type: LotPageDto })
  @ApiProblems(400)
  list(@Query() query: ListLotsQueryDto): Promise<LotPageDto> {
    return this.certificates.listLots(query);
  }

  @Get(':lotId')
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({ operationId: 'getLot', summary: 'Get a lot' })
  @ApiParam({
    name: 'lotId',
    description: 'The lot id: the serial of the lot’s first certificate (32 characters)',
    example: SERIAL_EXAMPLE,
  })
  @ApiOkResponse({ type: LotDto })
  @ApiProblems(400, 404)
  get(@Param('lotId') lotId: string): Promise<LotDto> {
    return this.certificates.getLot(checkSerial(lotId, 'lotId'));
  }

  @Get(':lotId/history')
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'getLotHistory',
    summary: 'Every committed version of a lot, oldest first, with transaction and block',
  })
  @ApiParam({
    name: 'lotId',
    description: 'The lot id: the serial of the lot’s first certificate (32 characters)',
    example: SERIAL_EXAMPLE,
  })
  @ApiOkResponse({ type: LotHistoryDto })
  @ApiProblems(400, 404)
  history(@Param('lotId') lotId: string): Promise<LotHistoryDto> {
    return this.certificates.lotHistory(checkSerial(lotId, 'lotId'));
  }

  @Get(':lotId/provenance')
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'getLotProvenance',
    summary: 'Provenance of a lot, from the ledger',
    description:
      'The path of the lot’s serials from their issuance to this lot (each move of each lot on it, with ' +
      'transaction, block, time and acting organisation), the lot’s own moves, and the vouchers, trade, ' +
      'redemption or exchange on that path (queries:GetLotProvenance, then qscc for each transaction).',
  })
  @ApiParam({
    name: 'lotId',
    description: 'The lot id: the serial of the lot’s first certificate (32 characters)',
    example: SERIAL_EXAMPLE,
  })
  @ApiOkResponse({ type: ProvenanceDto })
  @ApiProblems(400, 404)
  provenance(
    @Param('lotId') lotId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ProvenanceDto> {
    return this.certificates.lotProvenance(principal, checkSerial(lotId, 'lotId'));
  }

  @Post(':lotId/split')
  @Roles('trading-center')
  @ServedBy('TRADING_CENTER')
  @ApiOperation({
    operationId: 'splitLot',
    summary: 'Split a lot',
    description:
      'Submits certificates:Split: the highest `certificates` serials become a new ACTIVE lot of the same owner.',
  })
  @ApiParam({
    name: 'lotId',
    description: 'The lot id: the serial of the lot’s first certificate (32 characters)',
    example: SERIAL_EXAMPLE,
  })
  @ApiHeader(IDEMPOTENCY_DOC)
  @ApiCreatedResponse({ type: LotChangeDto })
  @ApiProblems(400, 404, 409, 422, 502)
  async split(
    @Param('lotId') lotId: string,
    @Body() body: SplitLotDto,
    @CurrentPrincipal() principal: Principal,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<LotChangeDto> {
    const id = checkSerial(lotId, 'lotId');
    return reply(
      res,
      await this.ledger.idempotent(principal, idempotencyKey, `/v1/lots/${id}/split`, body, 201, () =>
        this.certificates.split(principal, id, body),
      ),
    );
  }

  @Post(':lotId/transfer')
  @Roles('trading-center')
  @ServedBy('TRADING_CENTER')
  @ApiOperation({
    operationId: 'transferLot',
    summary: 'Transfer a whole lot or part of it',
    description:
      'Submits certificates:Transfer between ACTIVE generators/consumers, for the holder `from`. A part is split ' +
      'off with lineage; the consortium’s transfer size limits apply. A concurrent change of the same lot answers ' +
      '409 LEDGER_CONFLICT (nothing changed).',
  })
  @ApiParam({
    name: 'lotId',
    description: 'The lot id: the serial of the lot’s first certificate (32 characters)',
    example: SERIAL_EXAMPLE,
  })
  @ApiHeader(IDEMPOTENCY_DOC)
  @ApiOkResponse({ type: LotChangeDto })
  @ApiProblems(400, 404, 409, 422, 502)
  async transfer(
    @Param('lotId') lotId: string,
    @Body() body: TransferLotDto,
    @CurrentPrincipal() principal: Principal,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<LotChangeDto> {
    const id = checkSerial(lotId, 'lotId');
    return reply(
      res,
      await this.ledger.idempotent(principal, idempotencyKey, `/v1/lots/${id}/transfer`, body, 200, () =>
        this.certificates.transfer(principal, id, body),
      ),
    );
  }

  @Post(':lotId/expire')
  @HttpCode(200)
  @Roles('admin', 'trading-center', 'energy-platform')
  @ServedBy('PLATFORM_OPERATOR', 'TRADING_CENTER')
  @ApiOperation({
    operationId: 'expireLot',
    summary: 'Mark a lot past its expiry date EXPIRED',
    description:
      'Submits certificates:Expire (any member but the regulator). 409 LOT_NOT_EXPIRED before the date.',
  })
  @ApiParam({
    name: 'lotId',
    description: 'The lot id: the serial of the lot’s first certificate (32 characters)',
    example: SERIAL_EXAMPLE,
  })
  @ApiOkResponse({ type: LotChangeDto })
  @ApiProblems(400, 404, 409, 502)
  expire(@Param('lotId') lotId: string, @CurrentPrincipal() principal: Principal): Promise<LotChangeDto> {
    return this.certificates.expire(principal, checkSerial(lotId, 'lotId'));
  }

  @Post(':lotId/withdraw')
  @HttpCode(200)
  @Roles('admin')
  @ServedBy('PLATFORM_OPERATOR')
  @ApiOperation({
    operationId: 'withdrawLot',
    summary: 'Withdraw certificates (dispute handling)',
    description:
      'Submits certificates:Withdraw as the issuing body. ACTIVE or LISTED certificates only; never redeemed, ' +
      'exchanged, expired or in custody.',
  })
  @ApiParam({
    name: 'lotId',
    description: 'The lot id: the serial of the lot’s first certificate (32 characters)',
    example: SERIAL_EXAMPLE,
  })
  @ApiOkResponse({ type: LotChangeDto })
  @ApiProblems(400, 404, 409, 422, 502)
  withdraw(
    @Param('lotId') lotId: string,
    @Body() body: WithdrawLotDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LotChangeDto> {
    return this.certificates.withdraw(principal, checkSerial(lotId, 'lotId'), body);
  }
}

@ApiTags('certificates')
@Controller('v1/certificates')
export class SerialsController {
  constructor(private readonly certificates: CertificatesService) {}

  @Get(':serial/redemption')
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'checkCertificateRedemption',
    summary: 'Redemption check by serial number (兑付信息核查)',
    description:
      'Redeemed or not, by whom, when and for what, for any serial inside any lot. 404 SERIAL_NOT_FOUND for a ' +
      'serial no lot holds.',
  })
  @ApiParam({
    name: 'serial',
    description:
      'A certificate serial: 17-character project code, production month YYYYMM, 7-digit sequence, electricity class, trade class',
    example: SERIAL_EXAMPLE,
  })
  @ApiOkResponse({ type: RedemptionCheckDto })
  @ApiProblems(400, 404)
  redemption(
    @Param('serial') serial: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<RedemptionCheckDto> {
    return this.certificates.redemptionCheck(principal, checkSerial(serial));
  }

  @Get(':serial/provenance')
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'getCertificateProvenance',
    summary: 'Provenance of a serial number, from the ledger',
    description:
      'Issuance (unit, meters, attested generation, month) → each move of the lots that held this serial (not ' +
      'the splits that moved other serials) → trade attestation → voucher → redemption, exchange, expiry or ' +
      'withdrawal; each step with transaction id, block, time and acting organisation. Everything comes from ' +
      'the ledger (queries:GetSerialProvenance, then qscc for each transaction), never from the projection.',
  })
  @ApiParam({
    name: 'serial',
    description:
      'A certificate serial: 17-character project code, production month YYYYMM, 7-digit sequence, electricity class, trade class',
    example: SERIAL_EXAMPLE,
  })
  @ApiOkResponse({ type: ProvenanceDto })
  @ApiProblems(400, 404)
  provenance(
    @Param('serial') serial: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ProvenanceDto> {
    return this.certificates.provenance(principal, checkSerial(serial));
  }
}

const VOUCHER_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

@ApiTags('vouchers')
@Controller('v1/vouchers')
export class VoucherProvenanceController {
  constructor(private readonly certificates: CertificatesService) {}

  @Get(':id/provenance')
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'getVoucherProvenance',
    summary: 'Provenance of every lot a voucher holds, from the ledger',
    description:
      'For each source lot of the voucher (绿电凭证): its issuance, each move of the lots on its path, the trade ' +
      'attestation that put it in custody and the voucher’s own status changes, each with transaction, block, ' +
      'time and acting organisation (queries:GetVoucherProvenance, then qscc for each transaction).',
  })
  @ApiParam({
    name: 'id',
    description: 'The voucher id: VCH- and the trade id',
    example: 'VCH-T-2026-10-0001',
  })
  @ApiOkResponse({ type: VoucherProvenanceDto })
  @ApiProblems(400, 404)
  provenance(
    @Param('id') id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<VoucherProvenanceDto> {
    if (!VOUCHER_ID_PATTERN.test(id)) {
      throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: id', {
        errors: [{ field: 'id', message: 'id must be 1-64 characters of A-Z a-z 0-9 . _ -' }],
      });
    }
    return this.certificates.voucherProvenance(principal, id);
  }
}
