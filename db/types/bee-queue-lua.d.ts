// bee-queue's script cache (CommonJS, untyped): loads its Lua scripts into a (reconnected) Redis.
declare module 'bee-queue/lib/lua/index.js' {
  const lua: { buildCache(client: unknown): Promise<unknown> };
  export default lua;
}
