import { createHash } from 'node:crypto';
import { keyOf } from '../../db/changefeed/channels.ts';
import type { Logger } from '../../db/logger.ts';
import type { RedisClient } from '../../db/redis.ts';

/**
 * Failed-login counting in Redis, so the limit holds across every server process: per account and per
 * client address, in a fixed window. Redis being down fails open (logged): logins are not blocked by it.
 */
export class LoginLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly limits: { maxFailures: number; windowSeconds: number },
    private readonly logger: Logger,
  ) {}

  private keys(email: string, ip: string): string[] {
    const id = createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 32);
    return [keyOf(this.prefix, 'login', 'account', id), keyOf(this.prefix, 'login', 'ip', ip)];
  }

  async isBlocked(email: string, ip: string): Promise<boolean> {
    try {
      const [account, address] = await Promise.all(this.keys(email, ip).map((k) => this.redis.get(k)));
      return Number(account ?? 0) >= this.limits.maxFailures || Number(address ?? 0) >= this.limits.maxFailures * 5;
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'login limiter unavailable');
      return false;
    }
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    try {
      const multi = this.redis.multi();
      for (const key of this.keys(email, ip)) multi.incr(key).expire(key, this.limits.windowSeconds, 'NX');
      await multi.exec();
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'login limiter unavailable');
    }
  }

  async reset(email: string, ip: string): Promise<void> {
    const [accountKey] = this.keys(email, ip);
    await this.redis.del(accountKey!).catch(() => undefined);
  }
}
