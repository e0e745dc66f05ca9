import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, QueryRunner } from 'typeorm';
import type { HttpResponse } from '../common/http';
import { ProblemError } from '../common/problem';
import { csvLine, valueAt } from './csv';
import { CSV, NDJSON, type ExportFormat } from './formats';

export interface SqlQuery {
  text: string;
  params: unknown[];
}

/** What to stream: the rows of `query`, each made an item (the list's or statistic's JSON object). */
export interface TabularExport<Row> {
  /** File name without extension (Content-Disposition). */
  name: string;
  query: SqlQuery;
  toItem: (row: Row) => object;
  /** CSV columns: dotted paths into the item (`ledger.txId`); objects and arrays are written as JSON. */
  columns: readonly string[];
}

/** Rows fetched from the cursor at a time: what an export holds in memory, whatever its size. */
export const FETCH_ROWS = 1000;
/** Exports streaming at once on one gateway instance: each holds a database connection until it ends. */
export const MAX_CONCURRENT_EXPORTS = 2;

/**
 * Streams the rows of one SQL statement as CSV or NDJSON with bounded memory: a server-side cursor in a read-only
 * transaction (one snapshot, so the export is consistent however long it takes), fetched `FETCH_ROWS` at a time,
 * and the next fetch only once the socket has taken the last batch (backpressure: a slow client slows the
 * export, it does not fill the gateway's memory). A client that goes away ends the export and frees the
 * connection. The first batch is fetched before the status line, so a bad statement is still a problem document;
 * a failure later can only cut the stream (the chunked answer ends without its last chunk, which clients report
 * as an incomplete download).
 */
@Injectable()
export class RowStreamer {
  private readonly logger = new Logger('Exports');
  private active = 0;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async stream<Row>(res: HttpResponse, format: ExportFormat, spec: TabularExport<Row>): Promise<void> {
    if (this.active >= MAX_CONCURRENT_EXPORTS) {
      throw new ProblemError(
        503,
        'EXPORTS_BUSY',
        `${MAX_CONCURRENT_EXPORTS} exports are streaming from this gateway already; retry shortly`,
        { headers: { 'Retry-After': '5' } },
      );
    }
    this.active++;
    const runner = this.dataSource.createQueryRunner();
    let open = false;
    try {
      await runner.connect();
      await runner.query('BEGIN READ ONLY');
      open = true;
      // Every row will be read: plan for all of them, not for the first tenth as a cursor is by default (which
      // walks an id index past every row the filter refuses to return the first ones soon).
      await runner.query('SET LOCAL cursor_tuple_fraction = 1.0');
      await runner.query(`DECLARE gec_export NO SCROLL CURSOR FOR ${spec.query.text}`, spec.query.params);
      const first = (await runner.query(`FETCH ${FETCH_ROWS} FROM gec_export`)) as Row[];
      res.status(200);
      res.setHeader('Content-Type', format === 'csv' ? `${CSV}; charset=utf-8; header=present` : NDJSON);
      res.setHeader('Content-Disposition', `attachment; filename="${spec.name}.${format}"`);
      res.setHeader('Cache-Control', 'no-store');
      await this.pipe(res, runner, format, spec, first);
    } catch (error) {
      if (!res.headersSent) throw error;
      this.logger.error({ msg: 'export cut off', export: spec.name, error: String(error) });
      res.destroy(error as Error);
    } finally {
      if (open) await runner.query('ROLLBACK').catch(() => undefined);
      await runner.release();
      this.active--;
    }
  }

  private async pipe<Row>(
    res: HttpResponse,
    runner: QueryRunner,
    format: ExportFormat,
    spec: TabularExport<Row>,
    first: Row[],
  ): Promise<void> {
    let closed = false;
    const onClose = () => (closed = true);
    res.on('close', onClose);
    try {
      if (format === 'csv') res.write(csvLine([...spec.columns]));
      let batch = first;
      while (batch.length > 0 && !closed) {
        let chunk = '';
        for (const row of batch) {
          const item = spec.toItem(row);
          chunk +=
            format === 'csv'
              ? csvLine(spec.columns.map((column) => valueAt(item, column)))
              : `${JSON.stringify(item)}\n`;
        }
        if (!res.write(chunk)) await drained(res);
        if (batch.length < FETCH_ROWS || closed) break;
        batch = (await runner.query(`FETCH ${FETCH_ROWS} FROM gec_export`)) as Row[];
      }
      if (!closed) res.end();
    } finally {
      res.off('close', onClose);
    }
  }
}

/** Resolves when the socket wants more, or is gone. */
function drained(res: HttpResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
