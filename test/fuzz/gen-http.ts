// HTTP request generators for the HTTP port: the key API (GET/HEAD/PUT/DELETE /v1/keys/<key>,
// ?ttl=), health and metrics, with valid and broken request lines, headers, chunked and
// fixed-length bodies, and damage.

import { mutate, type Prng } from './prng.js';

const PATHS = ['/health', '/health/ready', '/health/live', '/metrics', '/v1/keys/', '/v1/keys/%ZZ', '/v1/keys/%00', '/', '/nope', '*', '/v1/keys/a/b', '/v1/keys/x?ttl=', '/v1/keys/x?ttl=-1', '/v1/keys/x?ttl=99999999999999999999', '//[', '//x/v1/keys/a', '//[::1]/health', 'http://x/health', '/%', '/v1/keys/%E0%A4%A'];
const METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'G ET', ''];

function target(r: Prng): string {
  if (r.chance(0.5)) return `/v1/keys/fz${encodeURIComponent(r.word(1 + r.int(12)))}${r.chance(0.2) ? `?ttl=${r.int(100)}` : ''}`;
  return r.pick(PATHS);
}

function request(r: Prng): Buffer {
  const method = r.pick(METHODS);
  const body = r.chance(0.5) ? r.bytes(r.len(256)) : Buffer.alloc(0);
  const headers = [`Host: ${r.pick(['x', 'localhost', '', '[::1]'])}`];
  const chunked = body.length > 0 && r.chance(0.2);
  if (chunked) headers.push('Transfer-Encoding: chunked');
  else if (body.length > 0 || r.chance(0.1)) headers.push(`Content-Length: ${r.chance(0.9) ? body.length : r.pick(['-1', '99999999999', 'x', '0', '1'])}`);
  if (r.chance(0.2)) headers.push(`X-${r.word(4)}: ${r.word(r.len(64))}`);
  if (r.chance(0.1)) headers.push(r.word(r.len(20)));
  if (r.chance(0.1)) headers.push('Connection: close');
  if (r.chance(0.05)) headers.push(`Authorization: Basic ${Buffer.from(`default:${r.word(6)}`).toString('base64')}`);
  const version = r.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1', '']);
  const head = Buffer.from(`${method} ${target(r)} ${version}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1');
  const payload = chunked ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]) : body;
  return Buffer.concat([head, payload]);
}

export function httpInput(r: Prng): Buffer {
  const n = 1 + r.int(3);
  const b = Buffer.concat(Array.from({ length: n }, () => request(r)));
  return r.chance(0.4) ? mutate(r, b) : b;
}
