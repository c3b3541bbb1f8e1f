// Preloaded into a gateway by the memory benchmark only (NODE_OPTIONS="--expose-gc --import=<this file>"), never
// by the product: SIGUSR2 forces full collections, so the heap read from /metrics just after is live data.
/* global process, gc */
process.on('SIGUSR2', () => {
  gc();
  gc();
});
