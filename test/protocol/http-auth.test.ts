// credentialsOf: the user and password of an HTTP Authorization header (Basic, Bearer user:pass,
// Bearer <password> for the default user); anything else null.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { credentialsOf } from '../../src/protocol/http-auth.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

test('Basic: base64 of user:password, split at the first colon; the scheme in any case', () => {
  assert.equal(credentialsOf(`Basic ${b64('alice:pw')}`), { user: 'alice', pass: 'pw' });
  assert.equal(credentialsOf(`basic ${b64('alice:p:w')}`), { user: 'alice', pass: 'p:w' });
  // Bytes as latin1 characters, as RESP's AUTH sees them.
  const bytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
  assert.equal(credentialsOf(`BASIC ${b64('üser:pässword')}`), { user: bytes('üser'), pass: bytes('pässword') });
  assert.equal(credentialsOf(`Basic ${b64(':')}`), { user: '', pass: '' });
});

test('Bearer: user:password, or the default user with a bare token', () => {
  assert.equal(credentialsOf('Bearer s3cret'), { user: 'default', pass: 's3cret' });
  assert.equal(credentialsOf('Bearer bob:pw'), { user: 'bob', pass: 'pw' });
  assert.equal(credentialsOf('bearer default:a:b'), { user: 'default', pass: 'a:b' });
});

test('malformed headers are null', () => {
  for (const h of ['', 'Basic', 'Basic ', `Basic ${b64('nocolon')}`, 'Basic !!!', 'Bearer ', 'Digest x', 'Token abc', 'Bearer']) {
    assert.is(credentialsOf(h), null, JSON.stringify(h));
  }
});

test.run();
