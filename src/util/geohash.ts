// Redis 7.0's geohash (geohash.c, geohash_helper.c): a point is the interleave of its latitude
// and longitude cells at 26 steps (52 bits, latitude in the even bits), kept as a sorted-set score;
// searches cover the centre cell and its 8 neighbours at a step chosen from the radius. Every
// operation is the same floating-point sequence as Redis's, so results print byte-identical.
// Pure: no keyspace, no I/O; results of decode() and areas() go to module scratch (no allocation).

export const STEP_MAX = 26;
export const LAT_MIN = -85.05112878;
export const LAT_MAX = 85.05112878;
export const LONG_MIN = -180;
export const LONG_MAX = 180;
export const EARTH_RADIUS_M = 6372797.560856;
const MERCATOR_MAX = 20037726.37;
const D_R = Math.PI / 180.0;
const TWO26 = 67108864;

/** Spreads the low 16 bits of x to the even bits of a 32-bit value. */
function spread16(x: number): number {
  x &= 0xffff;
  x = (x | (x << 8)) & 0x00ff00ff;
  x = (x | (x << 4)) & 0x0f0f0f0f;
  x = (x | (x << 2)) & 0x33333333;
  x = (x | (x << 1)) & 0x55555555;
  return x >>> 0;
}

/** The even bits of a 32-bit value, packed into 16 bits. */
function squash32(x: number): number {
  x &= 0x55555555;
  x = (x | (x >>> 1)) & 0x33333333;
  x = (x | (x >>> 2)) & 0x0f0f0f0f;
  x = (x | (x >>> 4)) & 0x00ff00ff;
  x = (x | (x >>> 8)) & 0x0000ffff;
  return x;
}

/** Redis's interleave64(lat, lon) for cells below 2^26: lat in the even bits, lon in the odd. */
export function interleave(lat: number, lon: number): number {
  const lo = spread16(lat & 0x1fff) + 2 * spread16(lon & 0x1fff);
  const hi = spread16(lat >>> 13) + 2 * spread16(lon >>> 13);
  return hi * TWO26 + lo;
}

/** deinterleave's result: the latitude and longitude cells. */
export let cellLat = 0;
export let cellLon = 0;

export function deinterleave(bits: number): void {
  const lo = bits % TWO26;
  const hi = Math.floor(bits / TWO26);
  cellLat = squash32(lo) | (squash32(hi) << 13);
  cellLon = squash32(lo >>> 1) | (squash32(hi >>> 1) << 13);
}

/** geohashEncode over [lonMin, lonMax] x [latMin, latMax]: the cell bits at `step`, or -1 when the
 * point is outside the ranges (Redis returns 0 and leaves bits 0). */
export function encode(lon: number, lat: number, step: number, lonMin = LONG_MIN, lonMax = LONG_MAX, latMin = LAT_MIN, latMax = LAT_MAX): number {
  if (lon > LONG_MAX || lon < LONG_MIN || lat > LAT_MAX || lat < LAT_MIN) return -1;
  if (lat < latMin || lat > latMax || lon < lonMin || lon > lonMax) return -1;
  let latOffset = (lat - latMin) / (latMax - latMin);
  let lonOffset = (lon - lonMin) / (lonMax - lonMin);
  const scale = 2 ** step;
  latOffset *= scale;
  lonOffset *= scale;
  // C converts to uint32_t by truncation; offsets are in [0, 2^step].
  return interleave(Math.trunc(latOffset) >>> 0, Math.trunc(lonOffset) >>> 0);
}

/** The WGS84 52-bit score of a point (geohashEncodeWGS84 then geohashAlign52Bits). */
export function scoreOf(lon: number, lat: number): number {
  return encode(lon, lat, STEP_MAX);
}

/** geohashDecode's area: left in these. */
export let latMinOut = 0;
export let latMaxOut = 0;
export let lonMinOut = 0;
export let lonMaxOut = 0;

export function decodeArea(bits: number, step: number): void {
  deinterleave(bits);
  const latScale = LAT_MAX - LAT_MIN;
  const lonScale = LONG_MAX - LONG_MIN;
  const div = 2 ** step;
  latMinOut = LAT_MIN + (cellLat * 1.0 / div) * latScale;
  latMaxOut = LAT_MIN + ((cellLat + 1) * 1.0 / div) * latScale;
  lonMinOut = LONG_MIN + (cellLon * 1.0 / div) * lonScale;
  lonMaxOut = LONG_MIN + ((cellLon + 1) * 1.0 / div) * lonScale;
}

/** decode()'s point. */
export let lonOut = 0;
export let latOut = 0;

/** A 52-bit score back to the centre of its cell (geohashDecodeToLongLatWGS84), in lonOut/latOut. */
export function decode(score: number): void {
  decodeArea(score, STEP_MAX);
  let x = (lonMinOut + lonMaxOut) / 2;
  if (x > LONG_MAX) x = LONG_MAX;
  if (x < LONG_MIN) x = LONG_MIN;
  let y = (latMinOut + latMaxOut) / 2;
  if (y > LAT_MAX) y = LAT_MAX;
  if (y < LAT_MIN) y = LAT_MIN;
  lonOut = x;
  latOut = y;
}

const ALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz';

/** The standard 11-character geohash of a score (GEOHASH): re-encoded over latitude -90..90. */
export function geohashString(score: number): string {
  decode(score);
  const bits = encode(lonOut, latOut, STEP_MAX, -180, 180, -90, 90);
  const b = bits < 0 ? 0 : bits;
  let s = '';
  for (let i = 0; i < 10; i++) s += ALPHABET[Math.floor(b / 2 ** (52 - (i + 1) * 5)) & 0x1f];
  return s + '0';
}

function degRad(a: number): number {
  return a * D_R;
}
function radDeg(a: number): number {
  return a / D_R;
}

export function latDistance(lat1: number, lat2: number): number {
  return EARTH_RADIUS_M * Math.abs(degRad(lat2) - degRad(lat1));
}

/** geohashGetDistance: haversine on Redis's sphere, in meters. */
export function distance(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const lon1r = degRad(lon1);
  const lon2r = degRad(lon2);
  const v = Math.sin((lon2r - lon1r) / 2);
  if (v === 0.0) return latDistance(lat1, lat2);
  const lat1r = degRad(lat1);
  const lat2r = degRad(lat2);
  const u = Math.sin((lat2r - lat1r) / 2);
  const a = u * u + Math.cos(lat1r) * Math.cos(lat2r) * v * v;
  return 2.0 * EARTH_RADIUS_M * Math.asin(Math.sqrt(a));
}

/** A search shape: a circle (radius) or a box (width x height), in `unit`s of `toMeters`. */
export interface Shape {
  lon: number;
  lat: number;
  box: boolean;
  radius: number;
  width: number;
  height: number;
  toMeters: number;
}

/** Distance from the shape's centre when (lon, lat) is inside it (geoWithinShape), else -1. */
export function withinShape(s: Shape, lon: number, lat: number): number {
  if (!s.box) {
    const d = distance(s.lon, s.lat, lon, lat);
    return d > s.radius * s.toMeters ? -1 : d;
  }
  const w = s.width * s.toMeters;
  const h = s.height * s.toMeters;
  if (latDistance(lat, s.lat) > h / 2) return -1;
  if (distance(lon, lat, s.lon, lat) > w / 2) return -1;
  return distance(s.lon, s.lat, lon, lat);
}

export function estimateSteps(rangeMeters: number, lat: number): number {
  if (rangeMeters === 0) return 26;
  let step = 1;
  while (rangeMeters < MERCATOR_MAX) {
    rangeMeters *= 2;
    step++;
  }
  step -= 2;
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  if (step < 1) step = 1;
  if (step > 26) step = 26;
  return step;
}

/** One cell moved by (dLon, dLat) at `step`, wrapping as Redis's geohash_move_x/y. */
function moved(bits: number, step: number, dLon: number, dLat: number): number {
  deinterleave(bits);
  const mask = 2 ** step;
  // A direction not moved keeps its cell as is, even the cell 2^step that encode() gives at
  // longitude 180 or the top latitude (Redis's move with d = 0 leaves those bits alone).
  const lon = dLon === 0 ? cellLon : (cellLon + dLon + mask) % mask;
  const lat = dLat === 0 ? cellLat : (cellLat + dLat + mask) % mask;
  return interleave(lat, lon);
}

/**
 * The 9 boxes to scan for a shape (geohashCalculateAreasByShapeWGS84), as [min, max) score ranges
 * in Redis's order (centre, N, S, E, W, NE, NW, SE, SW): boxStart[i], boxEnd[i]; boxUsed[i] false
 * for a box Redis zeroes (outside the shape's bounds) and for a repeat of the box scanned before.
 */
export const boxStart = new Float64Array(9);
export const boxEnd = new Float64Array(9);
export const boxUsed: boolean[] = new Array<boolean>(9).fill(false);

export function areas(s: Shape): void {
  const height = s.toMeters * (s.box ? s.height / 2 : s.radius);
  const width = s.toMeters * (s.box ? s.width / 2 : s.radius);
  const latDelta = radDeg(height / EARTH_RADIUS_M);
  const lonDeltaTop = radDeg(width / EARTH_RADIUS_M / Math.cos(degRad(s.lat + latDelta)));
  const lonDeltaBottom = radDeg(width / EARTH_RADIUS_M / Math.cos(degRad(s.lat - latDelta)));
  const south = s.lat < 0;
  const minLon = south ? s.lon - lonDeltaBottom : s.lon - lonDeltaTop;
  const maxLon = south ? s.lon + lonDeltaBottom : s.lon + lonDeltaTop;
  const minLat = s.lat - latDelta;
  const maxLat = s.lat + latDelta;
  let radiusM = s.box ? Math.sqrt((s.width / 2) * (s.width / 2) + (s.height / 2) * (s.height / 2)) : s.radius;
  radiusM *= s.toMeters;
  let steps = estimateSteps(radiusM, s.lat);
  let hash = encode(s.lon, s.lat, steps);
  if (hash < 0) hash = 0;
  let decrease = false;
  decodeArea(moved(hash, steps, 0, 1), steps);
  if (latMaxOut < maxLat) decrease = true;
  decodeArea(moved(hash, steps, 0, -1), steps);
  if (latMinOut > minLat) decrease = true;
  decodeArea(moved(hash, steps, 1, 0), steps);
  if (lonMaxOut < maxLon) decrease = true;
  decodeArea(moved(hash, steps, -1, 0), steps);
  if (lonMinOut > minLon) decrease = true;
  if (steps > 1 && decrease) {
    steps--;
    hash = encode(s.lon, s.lat, steps);
    if (hash < 0) hash = 0;
  }
  decodeArea(hash, steps);
  const cells = [hash, moved(hash, steps, 0, 1), moved(hash, steps, 0, -1), moved(hash, steps, 1, 0), moved(hash, steps, -1, 0), moved(hash, steps, 1, 1), moved(hash, steps, -1, 1), moved(hash, steps, 1, -1), moved(hash, steps, -1, -1)];
  boxUsed.fill(true);
  if (steps >= 2) {
    // Redis zeroes these neighbours (GZERO): indexes N=1 S=2 E=3 W=4 NE=5 NW=6 SE=7 SW=8.
    if (latMinOut < minLat) boxUsed[2] = boxUsed[8] = boxUsed[7] = false;
    if (latMaxOut > maxLat) boxUsed[1] = boxUsed[5] = boxUsed[6] = false;
    if (lonMinOut < minLon) boxUsed[4] = boxUsed[8] = boxUsed[6] = false;
    if (lonMaxOut > maxLon) boxUsed[3] = boxUsed[7] = boxUsed[5] = false;
  }
  const shift = 2 ** (52 - steps * 2);
  let last = 0;
  for (let i = 0; i < 9; i++) {
    if (!boxUsed[i]) continue;
    // As membersOfAllNeighbors: a box equal to the last one scanned (never the centre) is skipped.
    if (last !== 0 && cells[i] === cells[last]) {
      boxUsed[i] = false;
      continue;
    }
    boxStart[i] = cells[i]! * shift;
    boxEnd[i] = (cells[i]! + 1) * shift;
    last = i;
  }
}

/** Formats as Redis's "%.4f" distances (addReplyDoubleDistance). */
export function formatDistance(d: number): string {
  return d.toFixed(4);
}

/** Formats as Redis's ld2string LD_STR_HUMAN ("%.17Lf", trailing zeros and dot removed). */
export function formatCoord(x: number): string {
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  let s = x.toFixed(17);
  if (s.indexOf('.') >= 0) {
    let l = s.length;
    while (s.charCodeAt(l - 1) === 48) l--;
    if (s.charCodeAt(l - 1) === 46) l--;
    s = s.slice(0, l);
  }
  return s === '-0' ? '0' : s;
}
