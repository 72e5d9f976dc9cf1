// What the Redis specs share: whether they can run here, and one redis-server per spec file, started on first use
// and stopped after the file's tests.
import { onCleanup } from './cleanup.js';
import { redisServerBinary, startRedis, type RedisOptions, type RedisServer } from './redis-server.js';

/**
 * Why the Redis specs are skipped (redis-server is not installed), or false when they run. Under CI a missing
 * redis-server is an error instead: .ci/run installs it, and a skip there would hide a broken set-up.
 */
export function redisSkipReason(): string | false {
  if (redisServerBinary() !== undefined) return false;
  if (process.env['CI'] === 'true') throw new Error('redis-server is not installed; .ci/run must install it');
  return 'redis-server is not installed (apt-get install redis-server)';
}

/** The file's redis-server, started with `options` on first use (later calls share it), stopped after the tests. */
export function fileRedis(options: RedisOptions = {}): () => Promise<RedisServer> {
  let started: Promise<RedisServer> | undefined;
  return () => {
    if (started === undefined) {
      started = startRedis(options);
      onCleanup(async () => (await started)?.close());
    }
    return started;
  };
}
