// Single-producer single-consumer ring of length-prefixed frames over a SharedArrayBuffer.
// Frames are contiguous (a frame never wraps: the producer writes a wrap marker and restarts at 0),
// so a consumer can read a frame in place. Indices are monotonically increasing byte counters
// (mod 2^32 arithmetic), published with Atomics so the other thread sees whole frames only.
// Bound: capacity bytes; a producer that finds no room gets `false` and must hold the frame back.

const HEAD = 0; // producer's write position (Int32 index in ctl)
const TAIL = 1; // consumer's read position
const SIGNAL = 2; // bumped by the producer on publish; the consumer waits on it
const WAITING = 3; // 1 while the consumer sleeps (or is about to): only then is a notify needed
const SIDE = 4; // bytes of oversize frames sent beside the ring and not yet taken by the consumer
const CTL_INTS = 8;
const CTL_BYTES = CTL_INTS * 4;
const WRAP = 0xffffffff;
/** Frames are padded to this so that the length prefix is always aligned. */
const ALIGN = 4;

export interface RingMemory {
  sab: SharedArrayBuffer;
  capacity: number;
}

export function createRingMemory(capacity: number): RingMemory {
  if (capacity < 1024 || (capacity & (capacity - 1)) !== 0) throw new Error('ring capacity must be a power of two >= 1024');
  return { sab: new SharedArrayBuffer(CTL_BYTES + capacity), capacity };
}

class RingBase {
  protected readonly ctl: Int32Array;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly capacity: number;
  protected readonly mask: number;

  constructor(mem: RingMemory) {
    this.ctl = new Int32Array(mem.sab, 0, CTL_INTS);
    this.bytes = new Uint8Array(mem.sab, CTL_BYTES, mem.capacity);
    this.view = new DataView(mem.sab, CTL_BYTES, mem.capacity);
    this.capacity = mem.capacity;
    this.mask = mem.capacity - 1;
  }

  /** The word to wait on / notify for new frames. */
  signalWord(): Int32Array {
    return this.ctl;
  }

  static readonly SIGNAL_INDEX = SIGNAL;

  /** Bytes of oversize frames sent beside the ring (a MessagePort) and not yet taken: the producer
   * counts them against sideBytesMax so that the side channel is bounded like the ring. */
  sideBytes(): number {
    return Atomics.load(this.ctl, SIDE);
  }

  /** Producer: an oversize frame of n bytes left beside the ring. Consumer: it took one (-n). */
  addSideBytes(n: number): void {
    Atomics.add(this.ctl, SIDE, n);
  }

  /** Empties the ring; only valid when neither side is using it (supervisor, after a worker died). */
  reset(): void {
    Atomics.store(this.ctl, HEAD, 0);
    Atomics.store(this.ctl, TAIL, 0);
    Atomics.store(this.ctl, SIDE, 0);
  }
}

/** Largest frame (including its 4-byte length) a ring of this capacity accepts. */
export function maxFrameBytes(capacity: number): number {
  return capacity >>> 2;
}

export class RingProducer extends RingBase {
  private head = 0;
  private frameStart = -1;
  private published = 0;

  constructor(mem: RingMemory) {
    super(mem);
    this.head = Atomics.load(this.ctl, HEAD) >>> 0;
    this.published = this.head;
  }

  /** Reserves room for a frame of `len` payload bytes; returns the payload's byte offset in
   * `bytes`, or -1 when the ring is too full. The frame becomes visible at commit(). */
  reserve(len: number): number {
    const need = (4 + len + ALIGN - 1) & ~(ALIGN - 1);
    const tail = Atomics.load(this.ctl, TAIL) >>> 0;
    const used = (this.head - tail) >>> 0;
    let pos = this.head & this.mask;
    const toEnd = this.capacity - pos;
    let skip = 0;
    if (need > toEnd) skip = toEnd; // wrap: the rest of the buffer is dead space
    if (used + skip + need > this.capacity) return -1;
    if (skip > 0) {
      this.view.setUint32(pos, WRAP, true);
      this.head = (this.head + skip) >>> 0;
      pos = 0;
    }
    this.view.setUint32(pos, len, true);
    this.frameStart = pos;
    this.head = (this.head + need) >>> 0;
    return pos + 4;
  }

  /** Free bytes if a frame were reserved now (ignoring wrap waste). */
  free(): number {
    const tail = Atomics.load(this.ctl, TAIL) >>> 0;
    return this.capacity - ((this.head - tail) >>> 0);
  }

  /** Shrinks the last reserved frame to `len` payload bytes (len <= reserved). */
  shrinkLast(len: number, reservedLen: number): void {
    const oldNeed = (4 + reservedLen + ALIGN - 1) & ~(ALIGN - 1);
    const newNeed = (4 + len + ALIGN - 1) & ~(ALIGN - 1);
    this.view.setUint32(this.frameStart, len, true);
    this.head = (this.head - oldNeed + newNeed) >>> 0;
  }

  /** Takes back the last reserved frame of `reservedLen` payload bytes (not yet committed). A
   * wrap marker written for it stays: the consumer skips it either way. */
  cancelLast(reservedLen: number): void {
    const need = (4 + reservedLen + ALIGN - 1) & ~(ALIGN - 1);
    this.head = (this.head - need) >>> 0;
  }

  /** Publishes every frame reserved so far. Returns true if anything new was published. */
  commit(): boolean {
    if (this.head === this.published) return false;
    Atomics.store(this.ctl, HEAD, this.head | 0);
    this.published = this.head;
    Atomics.add(this.ctl, SIGNAL, 1);
    return true;
  }

  /** Wakes the consumer if it sleeps. The futex wake is a syscall, so it is skipped while the
   * consumer is awake: it re-checks the signal before it sleeps (see RingConsumer.sleep). */
  notify(): void {
    if (Atomics.load(this.ctl, WAITING) !== 0) Atomics.notify(this.ctl, SIGNAL);
  }

  /** Re-reads positions after a reset by the supervisor. */
  resync(): void {
    this.head = Atomics.load(this.ctl, HEAD) >>> 0;
    this.published = this.head;
  }
}

export class RingConsumer extends RingBase {
  private tail = 0;
  /** Producer position as last read: frames up to it are published. */
  private knownHead = 0;

  constructor(mem: RingMemory) {
    super(mem);
    this.tail = Atomics.load(this.ctl, TAIL) >>> 0;
    this.knownHead = this.tail;
  }

  /** Current signal value; read it before draining, then sleep(seen) after. */
  signal(): number {
    return Atomics.load(this.ctl, SIGNAL);
  }

  /** Resolves once a frame has been published after the signal read `seen` (at once if one
   * already was). Producers publish, then check WAITING; we set WAITING, then compare the
   * signal: in that order one side always sees the other, so no wake-up is lost. */
  sleep(seen: number): Promise<unknown> | null {
    Atomics.store(this.ctl, WAITING, 1);
    const w = Atomics.waitAsync(this.ctl, SIGNAL, seen);
    if (!w.async) {
      Atomics.store(this.ctl, WAITING, 0);
      return null;
    }
    return w.value;
  }

  /** Marks the consumer awake (call when sleep()'s promise resolves). */
  awake(): void {
    Atomics.store(this.ctl, WAITING, 0);
  }

  /** True when a frame is waiting (no side effect: a cheap check for background work to yield). */
  hasFrames(): boolean {
    return Atomics.load(this.ctl, HEAD) >>> 0 !== this.tail;
  }

  /** Offset in `bytes` of the next frame's payload (its length via frameLength()), or -1 when empty.
   * The frame stays valid until release(). */
  peek(): number {
    // The producer's position is re-read only when the frames known to be published run out:
    // an atomic load per frame is measurable at a million frames a second.
    if (this.knownHead === this.tail) {
      this.knownHead = Atomics.load(this.ctl, HEAD) >>> 0;
      if (this.knownHead === this.tail) return -1;
    }
    let pos = this.tail & this.mask;
    if (this.view.getUint32(pos, true) === WRAP) {
      this.tail = (this.tail + (this.capacity - pos)) >>> 0;
      if (this.knownHead === this.tail) return this.peek();
      pos = 0;
    }
    return pos + 4;
  }

  frameLength(payloadOff: number): number {
    return this.view.getUint32(payloadOff - 4, true);
  }

  /** Consumes the frame returned by the last peek(); its space is handed back at flushRelease(). */
  release(payloadOff: number): void {
    const len = this.view.getUint32(payloadOff - 4, true);
    const need = (4 + len + ALIGN - 1) & ~(ALIGN - 1);
    this.tail = (this.tail + need) >>> 0;
  }

  /** Publishes consumed space to the producer (once per batch). */
  flushRelease(): void {
    Atomics.store(this.ctl, TAIL, this.tail | 0);
  }

  resync(): void {
    this.tail = Atomics.load(this.ctl, TAIL) >>> 0;
    this.knownHead = this.tail;
  }
}
