// The Redis behind the work queue: one connection setting for every client (BullMQ needs its workers'
// requests retried for ever, so that a Redis restart is waited out), and the check that Redis keeps what
// BullMQ stores: with any eviction policy but `noeviction`, a Redis under memory pressure drops keys, and
// with them jobs.
import { Redis } from 'ioredis';

/** A client for `url` whose commands wait for Redis to come back instead of failing (BullMQ's requirement). */
export function redisClient(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/**
 * Refuses a Redis whose `maxmemory-policy` is not `noeviction`, with the command that fixes it. A Redis that
 * does not let clients read its configuration (some managed services) is let through with a warning.
 */
export async function checkNoEviction(url: string, warn: (line: string) => void): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
  try {
    await client.connect().catch((error: Error) => {
      throw new Error(
        `cannot reach Redis at ${url}: ${error.message}; start it, or pass --redis another URL`,
      );
    });
    let policy: string | undefined;
    try {
      const reply = (await client.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
      policy = reply[1];
    } catch (error) {
      warn(
        `cannot read Redis's maxmemory-policy at ${url} (${(error as Error).message}); make sure it is ` +
          'noeviction, or BullMQ may lose jobs',
      );
      return;
    }
    if (policy !== 'noeviction') {
      throw new Error(
        `Redis at ${url} runs with maxmemory-policy ${policy}: under memory pressure it evicts keys, and BullMQ ` +
          `loses jobs with them. Run \`redis-cli -u ${url} CONFIG SET maxmemory-policy noeviction\` (and put ` +
          '`maxmemory-policy noeviction` in redis.conf so that it holds after a restart), then start the worker again',
      );
    }
  } finally {
    client.disconnect();
  }
}
