// util/geohash against values redis-server 7.0 gave for the same points (GEOADD scores, GEOPOS,
// GEOHASH, GEODIST), and the structural properties of the interleave and of the 9-box search.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as G from '../../src/util/geohash.js';

test('scores as redis-server GEOADD stores them', () => {
  assert.is(G.scoreOf(13.361389, 38.115556), 3479099956230698);
  assert.is(G.scoreOf(15.087269, 37.502669), 3479447370796909);
  assert.is(G.scoreOf(-180, -85.05112878), 0);
  assert.is(G.scoreOf(200, 10), -1);
  assert.is(G.scoreOf(10, 86), -1);
});

test('decode and the coordinate format as GEOPOS', () => {
  G.decode(3479099956230698);
  assert.is(G.formatCoord(G.lonOut), '13.36138933897018433');
  assert.is(G.formatCoord(G.latOut), '38.11555639549629859');
  assert.is(G.formatCoord(-0), '0');
  assert.is(G.formatCoord(1.5), '1.5');
  assert.is(G.formatCoord(2), '2');
});

test('GEOHASH strings and GEODIST as redis-server', () => {
  assert.is(G.geohashString(3479099956230698), 'sqc8b49rny0');
  assert.is(G.geohashString(3479447370796909), 'sqdtr74hyu0');
  G.decode(3479099956230698);
  const x = G.lonOut;
  const y = G.latOut;
  G.decode(3479447370796909);
  assert.is(G.formatDistance(G.distance(x, y, G.lonOut, G.latOut)), '166274.1516');
  assert.is(G.formatDistance(G.distance(x, y, G.lonOut, G.latOut) / 1000), '166.2742');
});

test('interleave and deinterleave are inverse over 26-bit cells', () => {
  let seed = 7;
  for (let i = 0; i < 10000; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const lat = seed & 0x3ffffff;
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const lon = seed & 0x3ffffff;
    const bits = G.interleave(lat, lon);
    assert.ok(bits < 2 ** 52);
    G.deinterleave(bits);
    assert.is(G.cellLat, lat);
    assert.is(G.cellLon, lon);
  }
  assert.is(G.interleave(1, 0), 1);
  assert.is(G.interleave(0, 1), 2);
});

test('the 9 boxes contain every point of the shape', () => {
  let seed = 11;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let q = 0; q < 200; q++) {
    const shape: G.Shape = { lon: rnd() * 360 - 180, lat: rnd() * 160 - 80, box: q % 2 === 1, radius: 1000 + rnd() * 500_000, width: 1000 + rnd() * 500_000, height: 1000 + rnd() * 500_000, toMeters: 1 };
    G.areas(shape);
    const ranges: [number, number][] = [];
    for (let i = 0; i < 9; i++) if (G.boxUsed[i]) ranges.push([G.boxStart[i]!, G.boxEnd[i]!]);
    for (let p = 0; p < 200; p++) {
      const lon = Math.max(-180, Math.min(180, shape.lon + (rnd() - 0.5) * 10));
      const lat = Math.max(-85, Math.min(85, shape.lat + (rnd() - 0.5) * 10));
      // Longitude 180 itself encodes to the overflow cell 2^26 (as Redis: such a point is outside
      // every box there too).
      if (lon === 180) continue;
      const s = G.scoreOf(lon, lat);
      G.decode(s);
      if (G.withinShape(shape, G.lonOut, G.latOut) < 0) continue;
      assert.ok(ranges.some(([a, b]) => s >= a && s < b), `point ${lon},${lat} of shape ${JSON.stringify(shape)} in no box`);
    }
  }
});

test('steps from the radius', () => {
  assert.is(G.estimateSteps(0, 0), 26);
  assert.is(G.estimateSteps(1e9, 0), 1);
  assert.ok(G.estimateSteps(1000, 0) > G.estimateSteps(1000, 81));
});

test.run();
