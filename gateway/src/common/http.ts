import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The parts of Express's request and response the gateway uses (Nest runs on Express 5). Declared here so the
 * gateway does not need `@types/express`.
 */
export interface HttpRequest extends IncomingMessage {
  originalUrl: string;
  baseUrl?: string;
  route?: { path?: unknown };
}

export interface HttpResponse extends ServerResponse {
  /** Express's per-response scratch space; `problemCode` is set when a problem document is sent. */
  locals: Record<string, unknown>;
  status(code: number): this;
  type(contentType: string): this;
  send(body: string): this;
}

export type NextFunction = (error?: unknown) => void;
