// The slots this node serves for sharded pub/sub (it owns them, or it replicates their owner) and
// which of them it lost since the last look. As Redis 7.0 (clusterDelSlot): when a slot's owner
// changes, every node of the old owner's shard drops the slot's shard channels, except a replica
// that takes the slot over itself (a failover's winner leaves its old shard before it claims).
// Pure: reads a Topology, keeps one owner id and one bit per slot.

import { CLUSTER_SLOTS } from './api.js';
import { FLAG_SLAVE, type Topology } from './topology.js';

export class ServedSlots {
  /** Owner id of each slot at the last look (null: unassigned). */
  private readonly ownerIds: Array<string | null> = new Array<string | null>(CLUSTER_SLOTS).fill(null);
  private readonly served = new Uint8Array(CLUSTER_SLOTS);
  private readonly lostBits = new Uint8Array(CLUSTER_SLOTS);
  /** Slots lost at the last update(), by bit: for the listeners, valid until the next update(). */
  readonly lost = (slot: number): boolean => this.lostBits[slot] === 1;

  constructor(topo: Topology) {
    this.update(topo);
  }

  /** Compares the topology with the last look; returns how many served slots were lost. */
  update(topo: Topology): number {
    const me = topo.myself;
    const myPrimary = (me.flags & FLAG_SLAVE) !== 0 ? me.primaryId : null;
    let lost = 0;
    for (let s = 0; s < CLUSTER_SLOTS; s++) {
      const owner = topo.ownerOf(s);
      const id = owner === null ? null : owner.id;
      const serving = owner !== null && (owner === me || (myPrimary !== null && id === myPrimary));
      const gone = this.served[s] === 1 && (!serving || (id !== this.ownerIds[s] && owner !== me));
      this.lostBits[s] = gone ? 1 : 0;
      if (gone) lost++;
      this.served[s] = serving ? 1 : 0;
      this.ownerIds[s] = id;
    }
    return lost;
  }

  /** This node serves the slot (as of the last update). */
  serves(slot: number): boolean {
    return this.served[slot] === 1;
  }
}
