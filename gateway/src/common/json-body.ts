import { Logger } from '@nestjs/common';
import type { HttpRequest, HttpResponse, NextFunction } from './http';
import { problem } from './problem';
import { sendProblem } from './problem.filter';
import { parseStrictJson, StrictJsonError } from './strict-json';

/** Objects and arrays nested deeper than this are refused: the API's own bodies nest four levels at most. */
export const MAX_JSON_DEPTH = 32;

const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data']);

/** "1mb" / "100kb" / "512b" → bytes. */
export function bytesOf(limit: string): number {
  const match = /^(\d+)(b|kb|mb)$/i.exec(limit.trim());
  if (!match) throw new Error(`not a size: ${limit}`);
  return Number(match[1]) * { b: 1, kb: 1024, mb: 1024 * 1024 }[match[2].toLowerCase() as 'b' | 'kb' | 'mb'];
}

/**
 * The JSON body parser of the API (instead of body-parser's): bodies of `application/json` (or `+json`) are read
 * up to `limitBytes` and parsed strictly (`strict-json.ts`); a declared Content-Length over the limit is answered
 * 413 at once, before any of the body is read; form bodies are refused (415: the API speaks JSON); other media
 * types are left alone as streams (bulk NDJSON/CSV ingestion checks its own). The exact bytes are kept as
 * `rawBody` for request signatures.
 */
export function jsonBody(
  limitBytes: number,
): (req: HttpRequest, res: HttpResponse, next: NextFunction) => void {
  const logger = new Logger('JsonBody');
  return (req, res, next) => {
    const contentType = req.headers['content-type'];
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!contentType || !hasBody) return next();
    const media = contentType.split(';')[0].trim().toLowerCase();
    const refuse = (status: number, code: string, detail: string) => {
      // Whatever of the body is still coming is not read: close the connection after the answer.
      res.setHeader('Connection', 'close');
      sendProblem(res, req, problem(status, code, detail));
    };
    if (FORM_TYPES.has(media)) {
      return refuse(415, 'UNSUPPORTED_MEDIA_TYPE', `${media} is not accepted: send application/json`);
    }
    if (media !== 'application/json' && !media.endsWith('+json')) return next();
    const charset = /charset\s*=\s*"?([^";]+)/i.exec(contentType)?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return refuse(415, 'UNSUPPORTED_MEDIA_TYPE', `JSON must be UTF-8 (got charset ${charset})`);
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limitBytes) {
      return refuse(413, 'PAYLOAD_TOO_LARGE', `the request body is too large (at most ${limitBytes} bytes)`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limitBytes) {
        done = true;
        req.pause();
        return refuse(
          413,
          'PAYLOAD_TOO_LARGE',
          `the request body is too large (at most ${limitBytes} bytes)`,
        );
      }
      chunks.push(chunk);
    });
    req.on('error', (error: Error) => {
      if (done) return;
      done = true;
      logger.warn(`request body not received: ${error.message}`);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const raw = Buffer.concat(chunks, size);
      try {
        const body = parseStrictJson(raw, MAX_JSON_DEPTH);
        Object.assign(req, { body, rawBody: raw });
      } catch (error) {
        if (!(error instanceof StrictJsonError)) return next(error);
        return refuse(
          400,
          error.fault === 'MALFORMED_JSON' ? 'MALFORMED_JSON' : 'INVALID_JSON',
          error.message,
        );
      }
      next();
    });
  };
}
