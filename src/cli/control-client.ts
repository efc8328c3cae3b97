import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { ProbectlError, type ErrorCode } from '../core/errors.ts';
import type { ApiClient } from '../integrations/types.ts';
import { ndjsonLines } from './ndjson.ts';
import { parseJson } from '../core/json.ts';

/**
 * Talks to a running server over its local control socket (a 0600 Unix socket
 * in the data directory), authenticating with a token file.
 */
export class ControlClient implements ApiClient {
  private readonly socketPath: string;
  private readonly token: string;

  constructor(socketPath: string, tokenFile: string) {
    this.socketPath = socketPath;
    if (!existsSync(tokenFile)) {
      throw new ProbectlError('PROBECTL_ERR_CLI_USAGE', `a server holds this data directory; the CLI needs an admin token to reach it, but ${tokenFile} does not exist (pass --token-file)`);
    }
    this.token = readFileSync(tokenFile, 'utf8').trim();
  }

  /** A request whose answer is NDJSON lines, each handed to onLine as it arrives. */
  async stream(method: string, path: string, body: unknown, onLine: (value: unknown) => void): Promise<void> {
    const payload = Buffer.from(JSON.stringify(body));
    await new Promise<void>((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath, method, path,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', 'content-length': String(payload.length) },
      }, (res) => {
        const lines = ndjsonLines(onLine);
        let errorText = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if ((res.statusCode ?? 0) >= 400) errorText += chunk;
          else lines.push(chunk);
        });
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 400) {
            const e = parseJson(errorText || '{}') as { code?: ErrorCode; message?: string };
            reject(new ProbectlError(e.code ?? 'PROBECTL_ERR_INTERNAL', e.message ?? `server answered ${res.statusCode}`));
          } else resolve();
        });
        res.on('error', reject);
      });
      req.on('error', (err) => reject(new ProbectlError('PROBECTL_ERR_SERVER_UNREACHABLE', `cannot reach the running server through ${this.socketPath}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
      req.end(payload);
    });
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath, method, path,
        headers: { authorization: `Bearer ${this.token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', (err) => reject(new ProbectlError('PROBECTL_ERR_SERVER_UNREACHABLE', `cannot reach the running server through ${this.socketPath}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
      req.end(payload);
    });
    const parsed = text === '' ? undefined : parseJson(text) as unknown;
    if (status >= 400) {
      const e = parsed as { code?: ErrorCode; message?: string } | undefined;
      throw new ProbectlError(e?.code ?? 'PROBECTL_ERR_INTERNAL', e?.message ?? `server answered ${status}`, { status });
    }
    return parsed as T;
  }
}
