// TEMPORARY stand-in for server.pubsub (contract C2) until branch `pubsub` is merged: it counts
// what the shards publish and delivers it nowhere. Deleted once the real PubSubApi lands.

export class PublishStandIn {
  /** Messages received per mode (0 local, 1 publish, 2 spublish), for tests of the path. */
  readonly counts = [0, 0, 0];

  publishLocal(channel: Uint8Array, message: Uint8Array): number {
    this.counts[0]!++;
    if (process.env['NOTIFY_DEBUG_PUBLISH'] === '1') process.stderr.write(`PUB\t${Buffer.from(channel).toString('latin1')}\t${Buffer.from(message).toString('latin1')}\n`);
    return 0;
  }

  publish(_channel: Uint8Array, _message: Uint8Array): number {
    this.counts[1]!++;
    return 0;
  }

  spublish(_channel: Uint8Array, _message: Uint8Array): number {
    this.counts[2]!++;
    return 0;
  }
}
