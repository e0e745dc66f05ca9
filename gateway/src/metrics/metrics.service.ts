import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics: the process defaults, HTTP request durations and refusals by code, ledger submit durations,
 * meter readings ingested, callbacks, expiry sweeps and chain verification. Gauges whose value lives elsewhere (the PostgreSQL pool,
 * the projection's position) are registered by the modules that own it, on this registry.
 */
@Injectable()
export class MetricsService {
  /** One registry per application instance (several can run in one process, as in the tests). */
  readonly registry = new Registry();

  readonly httpRequests = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly ledgerSubmits = new Histogram({
    name: 'ledger_submit_duration_seconds',
    help: 'Ledger submit (endorse, order, commit) duration by transaction and outcome',
    labelNames: ['transaction', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** Every problem answer by status and stable code: signature, rate-limit and rule refusals alike. */
  readonly problems = new Counter({
    name: 'gec_http_problems_total',
    help: 'Problem (RFC 9457) answers by status and code',
    labelNames: ['status', 'code'] as const,
    registers: [this.registry],
  });

  readonly meterReadings = new Counter({
    name: 'gec_meter_readings_total',
    help: 'Meter reading lines ingested, by outcome (accepted, unchanged, corrected, rejected, rolled_back)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly callbacks = new Counter({
    name: 'gec_trade_callbacks_total',
    help: 'Trade callback delivery attempts by outcome (delivered, failed, abandoned)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly expirySweeps = new Counter({
    name: 'gec_expiry_sweeps_total',
    help: 'Expiry sweeps run by this instance, by outcome (done, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** Regulator audit-log rows: stored before the answer, or not stored (the record then went to the error log). */
  readonly auditRecords = new Counter({
    name: 'gec_regulator_audit_records_total',
    help: 'Regulator requests recorded in regulator_audit_log, by outcome (stored, failed: logged at error level instead)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly lotsExpired = new Counter({
    name: 'gec_lots_expired_total',
    help: 'Lots the expiry sweep expired on the ledger',
    registers: [this.registry],
  });

  /** Chain verification runs (at start and scheduled) by outcome: verified, failed (a check failed), error. */
  readonly chainVerificationRuns = new Counter({
    name: 'gec_chain_verification_runs_total',
    help: 'Chain verification runs of this instance by outcome (verified, failed, error)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** Each failed check a run found, by check (a damaged block found again by the next run counts again). */
  readonly chainVerificationFailures = new Counter({
    name: 'gec_chain_verification_failures_total',
    help: 'Block checks that failed in chain verification runs, by check (record, data-hash, previous-hash, …)',
    labelNames: ['check'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
