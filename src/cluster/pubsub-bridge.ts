// Pub/sub across the cluster: a node's local pub/sub (PubSubApi, server/pubsub.ts) wired to its
// cluster membership. PUBLISH and SPUBLISH leave through the bus (ClusterControl.publish: every
// node, or the shard's nodes); what arrives from the bus is delivered locally only, so a message
// never travels twice; sharded subscribers of slots this node stops serving get Redis 7.0's
// sunsubscribe notice. The local side is structural so that cluster/ imports nothing above it.

import type { ClusterControl } from './api.js';

/** What the bridge needs of the node's pub/sub (a subset of PubSubApi). */
export interface LocalPubSub {
  publishLocal(channel: Uint8Array, message: Uint8Array): number;
  spublishLocal(channel: Uint8Array, message: Uint8Array): number;
  onPropagate: ((channel: Uint8Array, message: Uint8Array, sharded: boolean) => void) | null;
  dropShardChannels(lost: (slot: number) => boolean): void;
}

/** Wires `pubsub` to `cluster` (once, when the node starts in cluster mode). ClusterControl.publish
 * copies the bytes into its frame before it returns, so onPropagate's arguments may be views. */
export function wireClusterPubSub(cluster: Pick<ClusterControl, 'publish' | 'onPublish' | 'onServedSlotsLost'>, pubsub: LocalPubSub): void {
  pubsub.onPropagate = (channel, message, sharded) => cluster.publish(channel, message, sharded);
  cluster.onPublish((channel, message, sharded) => {
    if (sharded) pubsub.spublishLocal(channel, message);
    else pubsub.publishLocal(channel, message);
  });
  cluster.onServedSlotsLost((lost) => pubsub.dropShardChannels(lost));
}
