import { setTimeout as sleep } from 'node:timers/promises';
import type { OperationHandler } from '../runner.ts';

type DemoBatchScope = {
  items: number;
  itemMs: number;
  failEvery?: number;
  failCode: string;
  failMessage?: string;
  abort?: boolean;
};

/** Synthetic items whose outcome the caller controls (docs/api.md §7). */
export const demoBatch: OperationHandler<DemoBatchScope> = async (ctx) => {
  const { items, itemMs, failEvery, failCode, failMessage, abort } = ctx.scope;
  ctx.setTotal(items);
  if (abort) {
    ctx.abort({ code: 'aborted', message: failMessage ?? 'The run was asked to abort before processing any item.' });
    return;
  }
  for (let i = 1; i <= items; i++) {
    if (itemMs > 0) await sleep(itemMs, undefined, { signal: ctx.signal });
    // With no per-item delay, still yield now and then so progress writes and shutdown can interleave.
    else if (i % 500 === 0) await sleep(0, undefined, { signal: ctx.signal });
    if (failEvery !== undefined && i % failEvery === 0) {
      ctx.failed({ code: failCode, message: failMessage ?? `Item ${i} failed.`, item: `item-${i}` });
    } else {
      ctx.succeeded();
    }
  }
};
