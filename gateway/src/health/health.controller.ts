import { Controller, Get, Inject, Res } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { ChainStatusDto } from '../audit/audit.dto';
import { ChainVerifier } from '../audit/chain-verifier';
import type { HttpResponse as Response } from '../common/http';
import { Public } from '../auth/auth.decorators';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { LedgerPort } from '../ledger/port';
import { Projector } from '../projection/projector.service';
import { projectionReadiness, READY_LAG_BLOCKS, SETTLED_MS } from './projection-readiness';

interface Check {
  status: 'up' | 'down';
  [detail: string]: unknown;
}

async function timed(check: () => Promise<Record<string, unknown>>, timeoutMs = 3000): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const detail = await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'up', ...detail };
  } catch (error) {
    return { status: 'down', error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

const CHECK_SCHEMA = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['up', 'down'] },
    error: { type: 'string', description: 'Why it is down' },
  },
  additionalProperties: true,
};

/** The readiness answer, for both 200 and 503: `checks` says which dependency is down. */
const READINESS_SCHEMA = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not-ready'] },
    checks: {
      type: 'object',
      required: ['ledger', 'database', 'projection', 'chain'],
      properties: {
        ledger: { ...CHECK_SCHEMA, description: 'Ledger: `height` when up' },
        chain: {
          description:
            'The gateway’s chain verification (at start, then every CHAIN_VERIFY_INTERVAL_S): not ready while its ' +
            'last run found a failed check, which `failure` names (block, check, expected, found)',
          $ref: getSchemaPath(ChainStatusDto),
        },
        database: CHECK_SCHEMA,
        projection: {
          description: 'The last block and transaction projected (null before the first)',
          anyOf: [{ type: 'object', additionalProperties: true }, { type: 'null' }],
        },
        projectionLag: {
          type: 'object',
          description:
            'How far the projection trails the ledger (present when both answer): not ready while it catches up',
          required: ['lagBlocks', 'caughtUp'],
          properties: {
            lagBlocks: {
              type: 'integer',
              description: 'Blocks on the ledger after the last projected event',
              example: 0,
            },
            caughtUp: {
              type: 'boolean',
              description: `At most ${READY_LAG_BLOCKS} blocks behind, or the checkpoint unmoved for ${SETTLED_MS / 1000} s while nothing is being applied`,
              example: true,
            },
          },
          example: { lagBlocks: 0, caughtUp: true },
        },
      },
    },
  },
};

const CHAIN_VERIFIED_EXAMPLE = {
  state: 'verified',
  verifiedBlock: 11,
  verifiedHash: '9f2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a',
  height: 12,
  sweepNextBlock: 0,
  lastRunAt: '2026-12-06T08:00:00.000Z',
  runs: 4,
  failure: null,
  failures: 0,
  error: null,
  unchecked: [],
};

@ApiTags('health')
@ApiExtraModels(ChainStatusDto)
@Controller('health')
export class HealthController {
  constructor(
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    private readonly projector: Projector,
    private readonly chain: ChainVerifier,
  ) {}

  /** The stored checkpoint last seen, and since when (it stands still once caught up on event-less blocks). */
  private seen?: { block: number | undefined; since: number };

  @Get()
  @Public()
  @ApiOperation({ operationId: 'checkLiveness', summary: 'Liveness: the process answers' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['status'],
      properties: { status: { type: 'string', enum: ['ok'] } },
      example: { status: 'ok' },
    },
  })
  live(): { status: string } {
    return { status: 'ok' };
  }

  @Get('ready')
  @Public()
  @ApiOperation({
    operationId: 'checkReadiness',
    summary: 'Readiness: the ledger and the database answer, the projection is caught up, the chain verified',
    description:
      'Not ready (503) while the ledger or the database does not answer, while the projection catches up with the ' +
      'ledger, or while the last chain verification found a failed check (`checks.chain.failure` names the block, ' +
      'the check, what was expected and what was found). A long first verification runs in the background: ' +
      '`checks.chain.state` is then `verifying`, and the gateway serves meanwhile.',
  })
  @ApiOkResponse({
    schema: {
      ...READINESS_SCHEMA,
      example: {
        status: 'ready',
        checks: {
          ledger: {
            status: 'up',
            height: 12,
            startup: {
              repairs: [],
              droppedBlocks: [],
              droppedTransactions: [],
              stateRebuilt: false,
              chainVerified: { from: 9, to: 11 },
            },
          },
          database: { status: 'up' },
          projection: {
            blockNumber: 11,
            txId: '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b',
          },
          projectionLag: { lagBlocks: 0, caughtUp: true },
          chain: CHAIN_VERIFIED_EXAMPLE,
        },
      },
    },
  })
  @ApiServiceUnavailableResponse({
    description:
      'A dependency is down, or the projection is catching up with the ledger; `checks` says which',
    schema: {
      ...READINESS_SCHEMA,
      example: {
        status: 'not-ready',
        checks: {
          ledger: { status: 'up', height: 12 },
          database: { status: 'down', error: 'connect ECONNREFUSED 127.0.0.1:5433' },
          projection: {
            blockNumber: 11,
            txId: '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b',
          },
          projectionLag: { lagBlocks: 0, caughtUp: true },
          chain: {
            ...CHAIN_VERIFIED_EXAMPLE,
            state: 'failed',
            verifiedBlock: 6,
            failure: {
              blockNumber: 7,
              check: 'data-hash',
              expected:
                '9f2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a (the data hash in the block header)',
              found:
                "3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b (SHA-256 of the block's 1 transaction(s))",
            },
            failures: 1,
          },
        },
      },
    },
  })
  async ready(@Res({ passthrough: true }) res: Response): Promise<Record<string, unknown>> {
    let stored: number | undefined;
    const [ledger, database] = await Promise.all([
      timed(async () => {
        const info = await this.ledger.getChainInfo();
        // The embedded ledger's start-up repairs stay visible here, not only in a log that may have rotated.
        return { height: info.height, ...(info.startup ? { startup: info.startup } : {}) };
      }),
      timed(async () => {
        // The stored checkpoint: the leader's and every follower's view of the one projection.
        stored = (await this.projector.storedCheckpoint())?.blockNumber;
        return {};
      }),
    ]);
    const now = Date.now();
    if (!this.seen || this.seen.block !== stored) this.seen = { block: stored, since: now };
    const lag =
      ledger.status === 'up' && database.status === 'up'
        ? projectionReadiness(ledger.height as number, stored, now - this.seen.since, this.projector.busy)
        : undefined;
    const chain = this.chain.status;
    const ok =
      ledger.status === 'up' &&
      database.status === 'up' &&
      lag?.caughtUp === true &&
      chain.state !== 'failed';
    res.status(ok ? 200 : 503);
    return {
      status: ok ? 'ready' : 'not-ready',
      checks: {
        ledger,
        database,
        projection: this.projector.checkpoint ?? null,
        ...(lag ? { projectionLag: lag } : {}),
        chain,
      },
    };
  }
}
