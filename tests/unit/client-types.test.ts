import { describe, expectTypeOf, it } from 'vitest';
import type { MirroredRun } from '../../clients/report-run.ts';
import type { RunView } from '../../db/runs/view.ts';

// Checked by the type checker (npm run check): the standalone client's copy of the run shape must be the
// server's own, field for field.
describe('the mirrored-runs client', () => {
  it('describes runs exactly as the server sends them', () => {
    expectTypeOf<MirroredRun>().toEqualTypeOf<RunView>();
  });
});
