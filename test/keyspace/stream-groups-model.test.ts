// Model-based test of consumer-group storage (src/keyspace/stream-groups.ts) on a bare arena:
// random sequences of group creation and removal, last-id and entries_read changes, consumer
// creation and deletion, deliveries (new PEL entries, and re-deliveries that move an entry to
// another consumer), acks, claims with delivery times and counts, restarts (a new Arena on the same
// memory, as a restarted shard attaches) and image round trips (the image checked, stored into
// another arena and used from then on, as DUMP/RESTORE, the log and replication carry it), against
// Maps. After every step the whole state is compared, each consumer's PEL checked against the
// group PEL, and the arena's used bytes checked against groupsBytes (nothing leaks, nothing is
// counted twice); at the end releasing everything gives the arena back empty. A replica (its own
// arena, given the groups' state record at each 'replicate', as WAIT would confirm) is promoted at
// 'failover': the model goes back to what was replicated, and the run goes on from the replica.
// Seeded and replayable: MODEL_SEED, MODEL_PATH, MODEL_RUNS, MODEL_COMMANDS.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { Arena, newGrowableMemory } from '../../src/keyspace/arena.js';
import { F_USED, HEADER_BYTES } from '../../src/keyspace/layout.js';
import * as G from '../../src/keyspace/stream-groups.js';

const SEED = Number(process.env['MODEL_SEED'] ?? 1717);
const RUNS = Number(process.env['MODEL_RUNS'] ?? 40);
const MAX_COMMANDS = Number(process.env['MODEL_COMMANDS'] ?? 80);
const REPLAY_PATH = process.env['MODEL_PATH'];

interface Nack {
  time: number;
  count: number;
  consumer: string;
}
interface Consumer {
  seen: number;
  active: number;
}
interface Group {
  lastId: bigint;
  entriesRead: number;
  pel: Map<bigint, Nack>;
  consumers: Map<string, Consumer>;
}
type Model = Map<string, Group>;

const NAMES = ['', 'g', 'g1', 'g2', 'group:long-name-of-a-group', '\u00ff', 'a\u0000'];
const CONSUMERS = ['c', 'c1', 'c2', 'worker-17', '\u0000', 'zz'];

type Op =
  | { k: 'group'; name: string; id: bigint; er: number }
  | { k: 'destroy'; name: string }
  | { k: 'setid'; name: string; id: bigint; er: number }
  | { k: 'consumer'; name: string; c: string; t: number }
  | { k: 'delconsumer'; name: string; c: string }
  | { k: 'deliver'; name: string; c: string; id: bigint; t: number; n: number }
  | { k: 'ack'; name: string; id: bigint; pick: number }
  | { k: 'claim'; name: string; c: string; pick: number; t: number; count: number }
  | { k: 'restart' }
  | { k: 'image' }
  | { k: 'replicate' }
  | { k: 'failover' };

// Ids: small ones collide often; some use every word (ms and seq above 2^32).
const idArb = fc.oneof(
  { weight: 5, arbitrary: fc.bigInt({ min: 0n, max: 40n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }) },
);
const nameArb = fc.constantFrom(...NAMES);
const consArb = fc.constantFrom(...CONSUMERS);
const timeArb = fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.constant(2 ** 52 + 3), fc.constant(1_700_000_000_123));
const erArb = fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 1000 }), fc.constant(2 ** 40 + 1));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('group' as const), name: nameArb, id: idArb, er: erArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('destroy' as const), name: nameArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('setid' as const), name: nameArb, id: idArb, er: erArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('consumer' as const), name: nameArb, c: consArb, t: timeArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delconsumer' as const), name: nameArb, c: consArb }) },
  { weight: 8, arbitrary: fc.record({ k: fc.constant('deliver' as const), name: nameArb, c: consArb, id: idArb, t: timeArb, n: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('ack' as const), name: nameArb, id: idArb, pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('claim' as const), name: nameArb, c: consArb, pick: fc.nat(), t: timeArb, count: fc.oneof(fc.nat(5), fc.constant(2 ** 40)) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'image' as const }) },
  { weight: 2, arbitrary: fc.constant({ k: 'replicate' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'failover' as const }) },
);

/** A copy of the model that later steps on the original do not change (the replica's view). */
function cloneModel(m: Model): Model {
  const out: Model = new Map();
  for (const [n, g] of m) {
    out.set(n, {
      lastId: g.lastId,
      entriesRead: g.entriesRead,
      pel: new Map([...g.pel].map(([id, v]) => [id, { ...v }])),
      consumers: new Map([...g.consumers].map(([c, v]) => [c, { ...v }])),
    });
  }
  return out;
}

/** The groups image of (arena, d), checked. */
function imageOf(arena: Arena, d: number): { img: Uint8Array; size: number } {
  const size = G.groupsImageSize(arena, d);
  const img = new Uint8Array(size + 3);
  const end = G.groupsImageWrite(arena, d, img, 3);
  assert.is(end - 3, size, 'image size as announced');
  assert.is(G.groupsImageError(img, 3, size), null, 'own image is sound');
  return { img, size };
}

function toSid(id: bigint, dst: Uint32Array): Uint32Array {
  for (let i = 3; i >= 0; i--) {
    dst[i] = Number(id & 0xffffffffn);
    id >>= 32n;
  }
  return dst;
}

function fromSid(s: Uint32Array): bigint {
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(s[i]!);
  return v;
}

function bytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

function text(arena: Arena, off: number, len: number): string {
  return Buffer.from(arena.u8.subarray(off, off + len)).toString('latin1');
}

function freshArena(): Arena {
  const arena = new Arena(newGrowableMemory(1 << 16));
  arena.reset();
  return arena;
}

const reg = new Uint32Array(4);

/** The storage's state read back whole, as the model's shape. */
function readBack(arena: Arena, d: number): Model {
  const m: Model = new Map();
  const n = G.groupCount(arena, d);
  let prevName: string | null = null;
  for (let i = 0; i < n; i++) {
    const g = G.groupAt(arena, d, i);
    const name = text(arena, G.groupNameOff(g), G.groupNameLen(arena, g));
    if (prevName !== null) assert.ok(Buffer.compare(bytes(prevName), bytes(name)) < 0, 'groups in name order');
    prevName = name;
    G.groupLastId(arena, g, reg);
    const grp: Group = { lastId: fromSid(reg), entriesRead: G.groupEntriesRead(arena, g), pel: new Map(), consumers: new Map() };
    const nc = G.consumerCount(arena, g);
    const owned = new Map<number, string>();
    for (let k = 0; k < nc; k++) {
      const c = G.consumerAt(arena, g, k);
      const cname = text(arena, G.consumerNameOff(c), G.consumerNameLen(arena, c));
      grp.consumers.set(cname, { seen: G.consumerSeen(arena, c), active: G.consumerActive(arena, c) });
      owned.set(c, cname);
    }
    const np = G.pelCount(arena, g);
    let prev = -1n;
    const perConsumer = new Map<string, bigint[]>();
    for (let k = 0; k < np; k++) {
      G.pelIdAt(arena, g, k, reg);
      const id = fromSid(reg);
      assert.ok(id > prev, 'PEL in id order');
      prev = id;
      const owner = owned.get(G.pelConsumerAt(arena, g, k));
      assert.ok(owner !== undefined, 'a PEL entry names a consumer of its group');
      grp.pel.set(id, { time: G.pelTimeAt(arena, g, k), count: G.pelDeliveriesAt(arena, g, k), consumer: owner });
      const list = perConsumer.get(owner) ?? [];
      list.push(id);
      perConsumer.set(owner, list);
    }
    for (let k = 0; k < nc; k++) {
      const c = G.consumerAt(arena, g, k);
      const cname = owned.get(c)!;
      const ids: bigint[] = [];
      for (let q = 0; q < G.consumerPelCount(arena, c); q++) {
        G.consumerPelIdAt(arena, c, q, reg);
        ids.push(fromSid(reg));
      }
      assert.equal(ids, perConsumer.get(cname) ?? [], `consumer ${cname}'s PEL is its part of the group PEL`);
    }
    m.set(name, grp);
  }
  return m;
}

function sortedModel(m: Model): unknown {
  const names = [...m.keys()].sort((a, b) => Buffer.compare(bytes(a), bytes(b)));
  return names.map((n) => {
    const g = m.get(n)!;
    return {
      n,
      lastId: g.lastId.toString(),
      er: g.entriesRead,
      pel: [...g.pel.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([id, v]) => [id.toString(), v.time, v.count, v.consumer]),
      consumers: [...g.consumers.entries()].sort((a, b) => Buffer.compare(bytes(a[0]), bytes(b[0]))).map(([c, v]) => [c, v.seen, v.active]),
    };
  });
}

function run(ops: Op[]): void {
  let arena = freshArena();
  let d = 0;
  let model: Model = new Map();
  // A replica: its own arena, holding the groups as of the last state record it applied (as the
  // replication feed carries the key's state after each command), and the model as of then. WAIT
  // is 'replicate'; 'failover' kills the primary (its arena is gone) and promotes the replica, so
  // the writes after the last 'replicate' are lost, as with Redis's asynchronous replication. The
  // old primary comes back as a replica by a full sync (a fresh arena, at the next 'replicate').
  let replica: { arena: Arena; d: number; model: Model } | null = { arena: freshArena(), d: 0, model: new Map() };
  const grp = (name: string): number => {
    const b = bytes(name);
    return G.groupFind(arena, d, b, 0, b.length);
  };
  const cons = (g: number, c: string): number => {
    const b = bytes(c);
    return G.consumerFind(arena, g, b, 0, b.length);
  };
  const pendingIds = (g: Group): bigint[] => [...g.pel.keys()].sort((a, b) => (a < b ? -1 : 1));
  for (const op of ops) {
    const mg = 'name' in op ? model.get(op.name) : undefined;
    const g = 'name' in op ? grp(op.name) : 0;
    assert.is(g !== 0, mg !== undefined, 'group found iff modelled');
    switch (op.k) {
      case 'group': {
        if (mg) break;
        const b = bytes(op.name);
        d = G.groupAdd(arena, d, b, 0, b.length, toSid(op.id, reg), op.er);
        model.set(op.name, { lastId: op.id, entriesRead: op.er, pel: new Map(), consumers: new Map() });
        break;
      }
      case 'destroy':
        if (!mg) break;
        d = G.groupRemove(arena, d, g);
        model.delete(op.name);
        break;
      case 'setid':
        if (!mg) break;
        G.groupSetLastId(arena, g, toSid(op.id, reg));
        G.groupSetEntriesRead(arena, g, op.er);
        mg.lastId = op.id;
        mg.entriesRead = op.er;
        break;
      case 'consumer': {
        if (!mg || mg.consumers.has(op.c)) break;
        const b = bytes(op.c);
        G.consumerCreate(arena, g, b, 0, b.length, op.t);
        mg.consumers.set(op.c, { seen: op.t, active: op.t });
        break;
      }
      case 'delconsumer': {
        if (!mg || !mg.consumers.has(op.c)) break;
        const pending = G.consumerDelete(arena, g, cons(g, op.c));
        let expected = 0;
        for (const [id, n] of mg.pel) {
          if (n.consumer === op.c) {
            mg.pel.delete(id);
            expected++;
          }
        }
        assert.is(pending, expected, 'DELCONSUMER counts its pending entries');
        mg.consumers.delete(op.c);
        break;
      }
      case 'deliver': {
        if (!mg) break;
        let c = cons(g, op.c);
        if (c === 0) {
          const b = bytes(op.c);
          c = G.consumerCreate(arena, g, b, 0, b.length, op.t);
          mg.consumers.set(op.c, { seen: op.t, active: op.t });
        }
        // A run of consecutive ids, as one XREADGROUP > delivers them.
        for (let k = 0n; k < BigInt(op.n); k++) {
          const id = (op.id + k) & ((1n << 128n) - 1n);
          toSid(id, reg);
          const i = G.pelFind(arena, g, reg);
          if (i >= 0) {
            G.pelSetConsumer(arena, g, i, c);
            G.pelSetTime(arena, g, i, op.t);
            G.pelSetDeliveries(arena, g, i, 1);
          } else G.pelInsert(arena, g, i, reg, op.t, 1, c);
          mg.pel.set(id, { time: op.t, count: 1, consumer: op.c });
        }
        G.consumerSetActive(arena, c, op.t + 1);
        mg.consumers.get(op.c)!.active = op.t + 1;
        break;
      }
      case 'ack': {
        if (!mg) break;
        const ids = pendingIds(mg);
        const id = ids.length > 0 && op.pick % 3 !== 0 ? ids[op.pick % ids.length]! : op.id;
        const i = G.pelFind(arena, g, toSid(id, reg));
        assert.is(i >= 0, mg.pel.has(id), 'PEL lookup');
        if (i >= 0) {
          G.pelRemove(arena, g, i);
          mg.pel.delete(id);
        }
        break;
      }
      case 'claim': {
        if (!mg) break;
        const ids = pendingIds(mg);
        if (ids.length === 0) break;
        const id = ids[op.pick % ids.length]!;
        let c = cons(g, op.c);
        if (c === 0) {
          const b = bytes(op.c);
          c = G.consumerCreate(arena, g, b, 0, b.length, op.t);
          mg.consumers.set(op.c, { seen: op.t, active: op.t });
        }
        const i = G.pelFind(arena, g, toSid(id, reg));
        G.pelSetConsumer(arena, g, i, c);
        G.pelSetTime(arena, g, i, op.t);
        G.pelSetDeliveries(arena, g, i, op.count);
        G.consumerSetSeen(arena, c, op.t);
        mg.pel.set(id, { time: op.t, count: op.count, consumer: op.c });
        mg.consumers.get(op.c)!.seen = op.t;
        break;
      }
      case 'restart':
        arena = new Arena(arena.memory);
        break;
      case 'replicate': {
        // The replica replaces the key's value with the record's state: the old groups released,
        // the image stored; restarts of the replica's shard on the way.
        const { img, size } = imageOf(arena, d);
        if (replica === null) replica = { arena: freshArena(), d: 0, model: new Map() };
        G.groupsRelease(replica.arena, replica.d);
        assert.is(replica.arena.f64[F_USED], HEADER_BYTES, 'the replica released its old groups whole');
        replica.d = G.groupsStore(replica.arena, img, 3, size);
        replica.arena = new Arena(replica.arena.memory);
        replica.model = cloneModel(model);
        assert.equal(sortedModel(readBack(replica.arena, replica.d)), sortedModel(replica.model), 'the replica holds what WAIT confirmed');
        break;
      }
      case 'failover': {
        if (replica === null) break;
        arena = replica.arena;
        d = replica.d;
        model = replica.model;
        replica = null;
        break;
      }
      case 'image': {
        const { img, size } = imageOf(arena, d);
        if (size > 1) assert.ok(G.groupsImageError(img, 3, size - 1) !== null, 'a truncated image is refused');
        const other = freshArena();
        const d2 = G.groupsStore(other, img, 3, size);
        assert.equal(sortedModel(readBack(other, d2)), sortedModel(readBack(arena, d)), 'stored image equals the source');
        G.groupsRelease(arena, d);
        assert.is(arena.f64[F_USED], HEADER_BYTES, 'release gives every block back');
        arena = other;
        d = d2;
        break;
      }
    }
    assert.equal(sortedModel(readBack(arena, d)), sortedModel(model));
    assert.is(arena.f64[F_USED]! - HEADER_BYTES, G.groupsBytes(arena, d), 'groupsBytes accounts for every block');
  }
  G.groupsRelease(arena, d);
  assert.is(arena.f64[F_USED], HEADER_BYTES, 'release gives every block back');
  if (replica !== null) {
    assert.is(replica.arena.f64[F_USED]! - HEADER_BYTES, G.groupsBytes(replica.arena, replica.d), 'the replica\'s groupsBytes accounts for every block');
    G.groupsRelease(replica.arena, replica.d);
    assert.is(replica.arena.f64[F_USED], HEADER_BYTES, 'the replica gives every block back');
  }
}

test('consumer-group storage follows the model, across restarts, image round trips, replication and a failover', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: MAX_COMMANDS }), (ops) => run(ops)),
    { seed: SEED, numRuns: RUNS, path: REPLAY_PATH, endOnFailure: true },
  );
});

test('a large PEL: 20000 deliveries, acks from the front, then a consumer deleted', () => {
  const arena = freshArena();
  const name = bytes('g');
  const d = G.groupAdd(arena, 0, name, 0, 1, toSid(0n, reg), -1);
  const g = G.addedGroup;
  const c1 = G.consumerCreate(arena, g, bytes('a'), 0, 1, 0);
  const c2 = G.consumerCreate(arena, g, bytes('b'), 0, 1, 0);
  for (let i = 0; i < 20000; i++) {
    toSid(BigInt(i) << 64n, reg);
    G.pelInsert(arena, g, -G.pelCount(arena, g) - 1, reg, i, 1, i % 2 === 0 ? c1 : c2);
  }
  for (let i = 0; i < 5000; i++) G.pelRemove(arena, g, 0);
  assert.is(G.pelCount(arena, g), 15000);
  assert.is(G.consumerDelete(arena, g, c1), 7500);
  assert.is(G.pelCount(arena, g), 7500);
  assert.is(G.consumerPelCount(arena, c2), 7500);
  G.pelIdAt(arena, g, 0, reg);
  assert.is(fromSid(reg), 5001n << 64n);
  assert.is(arena.f64[F_USED]! - HEADER_BYTES, G.groupsBytes(arena, d));
  G.groupsRelease(arena, d);
  assert.is(arena.f64[F_USED], HEADER_BYTES);
});

test('images from outside are checked', () => {
  assert.is(G.groupsImageError(Uint8Array.of(0), 0, 1), null);
  assert.ok(G.groupsImageError(Uint8Array.of(0, 0), 0, 2) !== null);
  assert.ok(G.groupsImageError(Uint8Array.of(2), 0, 1) !== null);
  assert.ok(G.groupsImageError(Uint8Array.of(1, 0, 0, 0, 0), 0, 5) !== null, 'zero groups is not an image');
  assert.ok(G.groupsImageError(new Uint8Array(0), 0, 0) !== null);
});

test.run();
