import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { Injectable } from '@nestjs/common';
import { isInteger, isSafeNumber, parse as parseLossless } from 'lossless-json';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { Skill } from '../skill.decorator.js';
import { type ParamCheck, type SkillContext, SkillError, type SkillHandler, StepErrorCode } from '../skill.interface.js';
import { HostPolicy } from './host-policy.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const MAX_TIMEOUT_MS = 120_000;
/**
 * Volatile output paths (API.md): response headers that differ between two identical calls. A replay's
 * `check` ignores them unless it is `strict`.
 */
export const HTTP_VOLATILE_PATHS: readonly string[] = Object.freeze([
  '/headers/date',
  '/headers/age',
  '/headers/expires',
  '/headers/set-cookie',
  '/headers/x-request-id',
  '/headers/server-timing',
  '/headers/report-to',
  '/headers/nel',
  '/headers/cf-ray',
]);
/** Hop-by-hop headers (RFC 9110 7.6.1, and proxy-*): about the connection, not the answer; never recorded. */
const HOP_BY_HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
/** A (lower-case) header name that is about the connection, not the answer. */
function isHopByHop(name: string): boolean {
  return HOP_BY_HOP_HEADERS.has(name) || name.startsWith('proxy-');
}
/** Never sent to another origin than the step named (also the Idempotency-Key, and any header holding a secret). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'api-key', 'idempotency-key']);

/** One request of the chain a step's call may follow through redirects. */
export interface OutgoingRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** True once the chain has left the origin the step named: credentials and body stay behind for good. */
  leftOrigin: boolean;
}

/**
 * The request a redirect leads to. 303 (and 301/302 after a POST) becomes a GET without body. A
 * redirect to another origin carries no body and none of the credential headers, the Idempotency-Key
 * or a header whose value holds one of the step's secrets. https -> http is refused (not retryable).
 */
export function redirectRequest(
  current: OutgoingRequest,
  status: number,
  location: string,
  secretValues: readonly string[],
): OutgoingRequest {
  let url: URL;
  try {
    url = new URL(location, current.url);
  } catch {
    throw new SkillError(StepErrorCode.RemoteRejected, 'a redirect named a Location that is not a URL');
  }
  if (current.url.protocol === 'https:' && url.protocol === 'http:') {
    throw new SkillError(
      StepErrorCode.HostNotAllowed,
      `refused a redirect from https to http (${url.host}): it would send the request in clear`,
    );
  }
  let { method, body } = current;
  if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET';
    body = undefined;
  }
  const leftOrigin = current.leftOrigin || url.origin !== current.url.origin;
  if (leftOrigin) body = undefined;
  const secrets = secretValues.filter((v) => v.length > 0);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(current.headers)) {
    const lower = name.toLowerCase();
    if (body === undefined && (lower === 'content-type' || lower === 'content-length')) continue;
    if (leftOrigin && (CREDENTIAL_HEADERS.has(lower) || secrets.some((secret) => value.includes(secret)))) continue;
    headers[name] = value;
  }
  return { url, method, headers, body, leftOrigin };
}

interface Response {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  location?: string;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * `http.request` { method?, url, headers?, body?, timeout_ms? } -> { status, headers, body }.
 * A keyed step sends its step idempotency key as the Idempotency-Key header (unless params set one).
 * Hosts must pass SKILL_HTTP_ALLOWED_HOSTS; addresses are checked after DNS (the connection uses the
 * checked address, so a second resolution cannot swap it) and again for every redirect.
 * Network errors, timeouts and 5xx fail the step as retryable.
 */
@Injectable()
@Skill('http.request')
export class HttpRequestSkill implements SkillHandler {
  readonly volatilePaths = HTTP_VOLATILE_PATHS;
  private readonly policy: HostPolicy;

  constructor(@InjectConfig('httpSkill') private readonly config: AppConfig['httpSkill']) {
    this.policy = new HostPolicy(config.allowedHosts);
  }

  /**
   * Hop-by-hop headers in a recorded output: runs recorded before they were left out hold them, and no
   * new output does (so `check` leaves them out of both sides, also when strict).
   */
  unrecordedPaths(recorded: unknown): string[] {
    const headers = (recorded as { headers?: unknown } | null)?.headers;
    if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return [];
    return Object.keys(headers)
      .filter((name) => isHopByHop(name.toLowerCase()))
      .map((name) => `/headers/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  }

  validate(params: Record<string, unknown>, check: ParamCheck) {
    const errors: Array<{ path: string; message: string }> = [];
    const { url, method, headers, timeout_ms } = params;
    if (!check.isRef(url)) {
      if (typeof url !== 'string' || !URL.canParse(url) || !['http:', 'https:'].includes(new URL(url).protocol)) {
        errors.push({ path: 'url', message: 'url must be an absolute http(s) URL' });
      }
    }
    if (method !== undefined && !check.isRef(method) && (typeof method !== 'string' || !METHODS.includes(method.toUpperCase()))) {
      errors.push({ path: 'method', message: `method must be one of ${METHODS.join(', ')}` });
    }
    if (headers !== undefined && !check.isRef(headers)) {
      const ok =
        headers !== null &&
        typeof headers === 'object' &&
        !Array.isArray(headers) &&
        Object.entries(headers).every(
          ([k, v]) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) && (check.isRef(v) || (typeof v === 'string' && !/[\r\n\0]/.test(v))),
        );
      if (!ok) errors.push({ path: 'headers', message: 'headers must be an object of header names to string values' });
    }
    if (
      timeout_ms !== undefined &&
      !check.isRef(timeout_ms) &&
      !(Number.isInteger(timeout_ms) && (timeout_ms as number) >= 1 && (timeout_ms as number) <= MAX_TIMEOUT_MS)
    ) {
      errors.push({ path: 'timeout_ms', message: `timeout_ms must be an integer from 1 to ${MAX_TIMEOUT_MS}` });
    }
    return errors;
  }

  async execute(params: Record<string, unknown>, context: SkillContext): Promise<unknown> {
    const invalid = this.validate(params, { isRef: () => false });
    if (invalid.length > 0)
      throw new SkillError(StepErrorCode.InvalidParams, `invalid params: ${invalid.map((e) => e.message).join('; ')}`);
    const url = new URL(params.url as string);
    const method = ((params.method as string | undefined) ?? 'GET').toUpperCase();
    const headers = { ...((params.headers as Record<string, string> | undefined) ?? {}) };
    // A keyed step forwards its key, so a server that honours Idempotency-Key also drops the re-send
    // that follows a worker crash between the request and the recording of its result.
    if (context.idempotencyKey && !Object.keys(headers).some((h) => h.toLowerCase() === 'idempotency-key')) {
      headers['Idempotency-Key'] = context.idempotencyKey;
    }
    let body: string | undefined;
    if (params.body !== undefined && params.body !== null) {
      if (typeof params.body === 'string') body = params.body;
      else {
        body = JSON.stringify(params.body);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
      }
    }
    const timeoutMs = (params.timeout_ms as number | undefined) ?? this.config.timeoutMs;
    const signal = AbortSignal.any([context.signal, AbortSignal.timeout(timeoutMs)]);

    let request: OutgoingRequest = { url, method, headers, body, leftOrigin: false };
    for (let redirects = 0; ; redirects++) {
      const response = await this.send(request.url, request.method, request.headers, request.body, signal, context.mayStartSideEffect);
      if (REDIRECTS.has(response.status) && response.location) {
        if (redirects >= MAX_REDIRECTS) throw new SkillError(StepErrorCode.SkillFailed, `too many redirects (more than ${MAX_REDIRECTS})`);
        request = redirectRequest(request, response.status, response.location, context.secretValues ?? []);
        continue;
      }
      if (response.status >= 500) {
        throw new SkillError(
          StepErrorCode.RemoteUnavailable,
          `${request.method} ${request.url.origin}${request.url.pathname} answered ${response.status}`,
        );
      }
      return { status: response.status, headers: response.headers, body: response.body };
    }
  }

  private refuse(url: URL, why: string): SkillError {
    return new SkillError(StepErrorCode.HostNotAllowed, `refused to reach ${url.host}: ${why} (see SKILL_HTTP_ALLOWED_HOSTS)`);
  }

  private portOf(url: URL): number {
    return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  }

  private send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal,
    mayStartSideEffect: () => boolean = () => true,
  ): Promise<Response> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return Promise.reject(this.refuse(url, `protocol ${url.protocol} is not allowed`));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = this.portOf(url);
    if (!this.policy.allowsHost(host, port)) return Promise.reject(this.refuse(url, 'host is not allowed'));
    if (isIP(host) && !this.policy.allowsAddress(host, port, host)) return Promise.reject(this.refuse(url, 'address is not public'));

    const policy = this.policy;
    const refuse = (why: string) => this.refuse(url, why);
    // The connection resolves through this lookup, so the checked address is the one connected to.
    const lookup = (hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
      dnsLookup(hostname, { all: true }, (err, addresses) => {
        if (err) return callback(err, []);
        const bad = addresses.find((a) => !policy.allowsAddress(host, port, a.address));
        if (bad)
          return callback(
            Object.assign(refuse(`${hostname} resolves to non-public address ${bad.address}`), { code: 'EREFUSED_SSRF' }),
            [],
          );
        if (options.all) return callback(null, addresses);
        return callback(null, addresses[0].address, addresses[0].family);
      });
    };

    const client = url.protocol === 'https:' ? https : http;
    const maxBytes = this.config.maxResponseBytes;
    return new Promise<Response>((resolve, reject) => {
      const req = client.request(url, { method, headers, signal, lookup: lookup }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            req.destroy(new SkillError(StepErrorCode.SkillFailed, `response larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (e) => reject(toSkillError(e)));
        res.on('end', () => {
          const text = new TextDecoder('utf-8').decode(Buffer.concat(chunks));
          resolve({
            status: res.statusCode ?? 0,
            headers: flattenHeaders(res.headers),
            body: parseBody(text, res.headers['content-type']),
            location: typeof res.headers.location === 'string' ? res.headers.location : undefined,
          });
        });
      });
      req.on('error', (e) => reject(toSkillError(e)));
      // Nothing is sent before the socket is connected (for https: its TLS handshake done, since what
      // `end` queues leaves right after it) and the step may still start its side effect: a worker that
      // stalled (or lost its claim) while resolving, connecting or handshaking sends nothing.
      req.once('socket', (socket) => {
        const sendOrRefuse = () => {
          if (mayStartSideEffect()) req.end(body);
          else
            req.destroy(
              new SkillError(StepErrorCode.StepClaimLost, 'the step lost its claim before the request was sent; nothing was sent'),
            );
        };
        if (socket.connecting) socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', sendOrRefuse);
        else sendOrRefuse();
      });
    });
  }
}

function toSkillError(error: unknown): SkillError {
  if (error instanceof SkillError) return error;
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'EREFUSED_SSRF') return new SkillError(StepErrorCode.HostNotAllowed, e.message);
  if (e.name === 'AbortError' || e.name === 'TimeoutError')
    return new SkillError(StepErrorCode.RemoteUnavailable, 'request timed out or was aborted');
  return new SkillError(StepErrorCode.RemoteUnavailable, `network error: ${e.code ?? e.message}`);
}

/** The response headers as recorded: one string per (lower-case) name, hop-by-hop headers left out. */
export function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || isHopByHop(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (contentType && /[/+]json\b/i.test(contentType) && text.length > 0) {
    try {
      return parseJson(text);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * 2^53 has 16 digits and the double range ends near 1e308: a text with neither 16 digits in a row nor
 * a 3-digit exponent holds no number that JSON.parse would change, and takes the fast path.
 */
const MAY_HOLD_INEXACT_NUMBER = /\d{16}|[eE]\+?\d{3}/;

/**
 * A JSON response body, numbers kept exact: an integer beyond 2^53 - 1 (an id, an amount in minor
 * units) becomes a string of its exact decimal digits, as does a number beyond the double range;
 * other numbers stay numbers. JSON.parse would round them, and a `check` replay would then call
 * two different values a match. Duplicate keys: the last wins, as with JSON.parse.
 */
export function parseJson(text: string): unknown {
  if (!MAY_HOLD_INEXACT_NUMBER.test(text)) return JSON.parse(text);
  return parseLossless(text, null, {
    parseNumber: (digits: string) => {
      if (isInteger(digits) && !isSafeNumber(digits)) return digits;
      const number = Number(digits);
      return Number.isFinite(number) ? number : digits;
    },
    onDuplicateKey: ({ newValue }) => newValue,
  });
}
