import type { Sys } from '@ebpf-sim/uapi';
import { allFds, handleFds, type Handle, type HandleKind } from './handles.js';
import { jsonWriter, writeFields, type JsonField } from './print.js';
import type { StepContext } from './session.js';

/** One object as `show` prints it: its plain lines and its JSON fields. */
export interface Shown {
  readonly plain: string;
  readonly fields: readonly JsonField[];
}

/**
 * `prog show` / `map show`: every object of the kind (a JSON array), or those a handle names (one JSON object
 * when it names one), each printed by `show`.
 */
export function* showObjects(ctx: StepContext, handle: Handle | undefined, kind: HandleKind, show: (ctx: StepContext, fd: number) => Sys<Shown>): Sys<void> {
  const fds = handle === undefined ? yield* allFds(ctx.libc, kind) : yield* handleFds(ctx.libc, handle, kind);
  const shown: Shown[] = [];
  for (const fd of fds) {
    shown.push(yield* show(ctx, fd));
    yield* ctx.libc.close(fd);
  }
  if (ctx.mode === 'plain') {
    ctx.io.out(shown.map((s) => s.plain).join(''));
    return;
  }
  const w = jsonWriter(ctx.mode);
  const array = handle === undefined || shown.length > 1;
  if (array) w.startArray();
  for (const s of shown) writeFields(w, s.fields);
  if (array) w.endArray();
  ctx.io.out(w.finish());
}
