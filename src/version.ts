// Tessera's own version, and the redis-server version whose behaviour it follows (what HELLO and
// INFO report as redis_version, because clients and tools gate features on it).
export const VERSION = {
  tessera: '0.1.0',
  redisCompat: '7.0.15',
} as const;
