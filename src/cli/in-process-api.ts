import { readFileSync } from 'node:fs';
import { ProbectlError, type ErrorCode } from '../core/errors.ts';
import type { ApiClient } from '../integrations/types.ts';
import type { CliInProcessApp } from './context.ts';
import { ndjsonLines } from './ndjson.ts';
import { parseJson } from '../core/json.ts';

/**
 * The API of the app opened in this process (no server holds the data
 * directory): every request goes through the same routes, validation and
 * authorization as over HTTPS, authenticated with the admin token file, so
 * each operation exists once — as its route.
 */
export class InProcessApi implements ApiClient {
  private readonly opened: CliInProcessApp;
  private readonly token: string;

  constructor(opened: CliInProcessApp) {
    this.opened = opened;
    try {
      this.token = readFileSync(opened.adminTokenFile, 'utf8').trim();
    } catch {
      throw new ProbectlError('PROBECTL_ERR_CLI_USAGE', `the CLI authenticates with the admin token in ${opened.adminTokenFile}, which cannot be read; restore it (or create a provider-admin token and write it there)`);
    }
  }

  private headers(body: unknown): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.opened.app.inject({ method, url: path, headers: this.headers(body), ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
    const parsed = res.body === '' ? undefined : parseJson(res.body) as unknown;
    if (res.statusCode >= 400) throw errorOf(parsed, res.statusCode);
    return parsed as T;
  }

  async stream(method: string, path: string, body: unknown, onLine: (value: unknown) => void): Promise<void> {
    const res = await this.opened.app.inject({ method, url: path, headers: this.headers(body), payload: JSON.stringify(body), payloadAsStream: true });
    const lines = ndjsonLines(onLine);
    let errorText = '';
    for await (const chunk of res.stream()) {
      if (res.statusCode >= 400) errorText += chunk.toString();
      else lines.push(chunk.toString());
    }
    if (res.statusCode >= 400) throw errorOf(errorText === '' ? undefined : parseJson(errorText), res.statusCode);
  }
}

function errorOf(parsed: unknown, status: number): ProbectlError {
  const e = parsed as { code?: ErrorCode; message?: string } | undefined;
  return new ProbectlError(e?.code ?? 'PROBECTL_ERR_INTERNAL', e?.message ?? `the app answered ${status}`, { status });
}
