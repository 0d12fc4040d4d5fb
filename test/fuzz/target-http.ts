// In-process target: the HTTP request-target parser (src/protocol/http-target.ts) and what the
// HTTP router does with its result (URLSearchParams on the query, decodeURIComponent on a key).
// Targets in origin form, absolute form, with dot segments, percent escapes good and bad, a second
// leading slash, fragments, lone surrogates, and damaged. For each: no exception (the router's
// decodeURIComponent may throw only URIError, which it answers 400); a result is null or a path
// starting with '/' and free of '?' and '#'; an origin-form target always parses and gives its own
// bytes back; where WHATWG URL reads the same target the same way (plain characters, no dot
// segments), both give the same path and query.

import { parseRequestTarget } from '../../src/protocol/http-target.js';
import { mutate, Prng } from './prng.js';
import { check, type Target } from './target.js';

const SEGMENTS = ['v1', 'keys', 'health', 'ready', 'live', 'metrics', '', '.', '..', '%2e', '%2E%2e', '.%2e', '%', '%Z', '%ZZ', '%00', '%E0%A4%A', '%C3%A9', '[', ']', '[::1]', '@', ':', ';', ',', '*', 'a b', '\\', '\t', '\u00e9', '\ud800', '\udfff', '\u{1f600}', '~', '!', "'", '"', '<', '>', '`', '{', '}', '|', '^'];
const SCHEMES = ['http', 'https', 'HTTP', 'h2c', 'x+y-z.w', '1http', 'http:', '', 'javascript', 'file'];
const AUTHORITIES = ['x', 'localhost:8080', '[::1]', '[::1]:80', '[', 'user:pw@h', '', ':', '%41', 'h:99999', '\u00e9'];
const QUERIES = ['', '?', '?ttl=5', '?ttl=', '?a=1&b=2&a=3', '?%', '?%ZZ=%', '?=&&=', '?ttl=5#frag', '?\ud800=\udc00', '??', '?a#b?c'];
const FRAGMENTS = ['', '#', '#x', '#/a?b', '#%'];

function path(r: Prng): string {
  const n = r.int(6);
  let p = '';
  for (let i = 0; i < n; i++) p += `/${r.chance(0.7) ? r.pick(SEGMENTS) : r.word(r.len(12))}`;
  if (r.chance(0.2)) p = `/${p}`; // a second leading slash: once taken for a host (`//[`)
  return p === '' && r.chance(0.7) ? '/' : p;
}

export function httpTargetInput(r: Prng): string {
  let s: string;
  switch (r.int(6)) {
    case 0:
    case 1:
      s = `${path(r)}${r.pick(QUERIES)}${r.pick(FRAGMENTS)}`;
      break;
    case 2:
      s = `${r.pick(SCHEMES)}${r.pick(['://', ':/', ':', '//', ':///'])}${r.pick(AUTHORITIES)}${path(r)}${r.pick(QUERIES)}${r.pick(FRAGMENTS)}`;
      break;
    case 3:
      s = r.pick(['*', '', ' ', 'x', '?', '#', '/', '//', '///', '//[', '//[::1]/health', 'http://', 'http://x', 'http://x?y', 'http:/x', '/v1/keys/%ZZ?ttl=1']);
      break;
    case 4:
      return r.bytes(r.len(r.chance(0.01) ? 16 * 1024 : 256)).toString('latin1');
    default:
      s = `/v1/keys/${r.chance(0.5) ? encodeURIComponent(r.word(1 + r.int(20))) : r.bytes(r.len(32)).toString('latin1')}${r.pick(QUERIES)}`;
  }
  return r.chance(0.3) ? mutate(r, Buffer.from(s, 'utf8')).toString(r.chance(0.5) ? 'utf8' : 'latin1') : s;
}

/** Characters that WHATWG URL leaves as they are in a path (and a query, but for "'"), with no
 * backslash (a slash to URL in http) and no tab or newline (which URL deletes). */
const PLAIN = /^[A-Za-z0-9\-._~!$&()*+,;=:@/%']*$/;
const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(?=\/|$)/i;

function checkTarget(raw: string): void {
  const t = parseRequestTarget(raw);
  if (raw.startsWith('/')) check(t !== null, 'an origin-form target was refused');
  if (t === null) return;
  check(t.path.startsWith('/'), `path ${JSON.stringify(t.path)} does not start with /`);
  check(!t.path.includes('?') && !t.path.includes('#'), `path ${JSON.stringify(t.path)} holds ? or #`);
  check(!t.query.includes('#'), `query ${JSON.stringify(t.query)} holds #`);
  if (raw.startsWith('/')) {
    // Origin form: the path and query are the target's own bytes, up to a fragment.
    const rest = raw.split('#')[0]!;
    check(rest === t.path || rest === `${t.path}?${t.query}`, `origin-form ${JSON.stringify(rest)} gave path ${JSON.stringify(t.path)} query ${JSON.stringify(t.query)}`);
  } else {
    check(raw.includes(t.path.slice(1)) && raw.includes(t.query), 'absolute-form path or query not taken from the target');
  }
  // What the router does next must not throw but for a URIError, which it answers 400.
  new URLSearchParams(t.query).get('ttl');
  try {
    decodeURIComponent(t.path);
  } catch (e) {
    check(e instanceof URIError, `decodeURIComponent threw ${String(e)}`);
  }
  // Where WHATWG URL reads the target the same way, both must agree.
  const [p, q] = [t.path, t.query];
  if (raw.startsWith('/') && PLAIN.test(raw.split('#')[0]!) && !DOT_SEGMENT.test(p) && !p.includes("'") && !q.includes("'")) {
    const u = new URL(`http://h${raw.split('#')[0]}`);
    check(u.pathname === p, `URL reads path ${JSON.stringify(u.pathname)}, parser ${JSON.stringify(p)}`);
    check(u.search === (q === '' ? '' : `?${q}`), `URL reads query ${JSON.stringify(u.search)}, parser ${JSON.stringify(q)}`);
  }
}

export function httpTarget(): Target {
  return {
    name: 'http',
    input: (seed: number): Buffer => Buffer.from(httpTargetInput(new Prng(seed)), 'utf8'),
    run(seed: number): void {
      checkTarget(httpTargetInput(new Prng(seed)));
    },
  };
}
