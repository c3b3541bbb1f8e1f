import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { API_TYPES_FILE, generateApiTypes } from '../../clients/scripts/generate.ts';
import type * as Client from '../../clients/src/index.ts';
import type * as Contract from '../../server/http/contract.ts';

// The client package's types (clients/src/api-types.ts) are generated from the OpenAPI document. The type checker
// (npm run check) proves them the server's own shapes, field for field; the test below that they are current.
describe('the client package types', () => {
  it('describe answers exactly as the server sends them', () => {
    expectTypeOf<Client.RunView>().toEqualTypeOf<Contract.RunView>();
    expectTypeOf<Client.StartAnswer>().toEqualTypeOf<Contract.StartAnswer>();
    expectTypeOf<Client.RunsPage>().toEqualTypeOf<Contract.RunsPage>();
    expectTypeOf<Client.RunAnswer>().toEqualTypeOf<Contract.RunAnswer>();
    expectTypeOf<Client.RunHistoryAnswer>().toEqualTypeOf<Contract.RunHistoryAnswer>();
    expectTypeOf<Client.Stats>().toEqualTypeOf<Contract.Stats>();
    expectTypeOf<Client.TokenCreated>().toEqualTypeOf<Contract.TokenCreated>();
    expectTypeOf<Client.ErrorBody>().toEqualTypeOf<Contract.ErrorBody>();
    expectTypeOf<Client.ErrorDetail[]>().toEqualTypeOf<NonNullable<Contract.ErrorBody['error']['details']>>();
  });

  it('send only what the server accepts, naming every field it does', () => {
    // Event bodies: the very union the route validates with.
    expectTypeOf<Client.ReportRunEventBody>().toEqualTypeOf<Contract.RunEventBody>();
    expectTypeOf<Client.ReportedFailure>().toEqualTypeOf<NonNullable<Extract<Contract.RunEventBody, { kind: 'progress' }>['failures']>[number]>();
    // A start's scope is an object (every type's scope schema is one); the route accepts any JSON there.
    expectTypeOf<Client.StartRunBody>().toExtend<Contract.StartBody>();
    expectTypeOf<keyof Client.StartRunBody>().toEqualTypeOf<keyof Contract.StartBody>();
    // Queries: a repeatable parameter is a list here (the server also takes one value); `limit` a number.
    expectTypeOf<Client.ListRunsQuery>().toExtend<z.input<typeof Contract.runsQuery>>();
    expectTypeOf<keyof Client.ListRunsQuery>().toEqualTypeOf<keyof z.input<typeof Contract.runsQuery>>();
    expectTypeOf<Client.GetStatsQuery>().toEqualTypeOf<z.input<typeof Contract.statsQuery>>();
    expectTypeOf<Client.CreateIntegrationTokenBody>().toEqualTypeOf<z.input<typeof Contract.tokenBody>>();
  });

  it('the committed clients/src/api-types.ts is what `npm run client:types` generates now', async () => {
    // Stale after a change of the API description: run `npm run openapi`, then `npm run client:types`.
    expect(readFileSync(API_TYPES_FILE, 'utf8')).toBe(await generateApiTypes());
  });
});
