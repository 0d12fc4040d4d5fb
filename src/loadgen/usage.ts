// The options of `tessera bench`, apart so that the CLI can print them without loading the tool.
export const LOADGEN_USAGE = `Usage: tessera bench [options]
  -h, --host H         server host (default 127.0.0.1)
  -p, --port P         server port (default 6379; 11211 with --protocol memcache)
  --threads N          worker threads (default 1)
  -c, --clients N      connections in all (default 50)
  -P, --pipeline N     commands in flight per connection, closed loop (default 1)
  -n, --requests N     requests per phase (default 100000)
  --duration S         run each phase for S seconds instead of a request count
  -r, --keys N         key space size (default 100000)
  --key-prefix S       key prefix (default "key:"; keys are prefix + 12 digits)
  --dist uniform|zipf  key distribution (default uniform); --zipf-s S (default 0.99)
  -d, --value-size B   SET value size (default 32)
  -t, --tests LIST     phases run one after another: set,get (default set,get)
  --ratio R:W          one mixed phase instead, GET:SET (e.g. 9:1)
  --rate OPS           open loop: fixed total rate; latency from each command's intended send time
  --cluster            route keys by hash slot using CLUSTER SLOTS; MOVED refreshes the map,
                       ASK sends ASKING + the request to the node it names (resp only)
  --dbnum N            SELECT this database on each connection first (resp, standalone; default 0)
  --tls                TLS connections (resp); --cacert F, --cert F --key F as redis-benchmark
  --protocol P         resp (default) or memcache (memcached binary protocol: Get, Set)
  --json FILE          write the full result as JSON
  --svg FILE           write a chart of throughput and p99 over time
  -q, --quiet          only the summary lines
  --seed N             random seed (default 1)`;
