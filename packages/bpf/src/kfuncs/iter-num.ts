/**
 * The numbers iterator (kernel/bpf/bpf_iter.c): `struct bpf_iter_num` is the opaque 8 bytes on the program's
 * stack that Linux lays out as `struct bpf_iter_num_kern { int cur; int end; }`; next() hands out a pointer to
 * `cur`. libbpf's bpf_for() loops over it. The kfuncs are in the common set (every program type).
 */
import { KF } from '@ebpf-sim/verifier';
import { kfunc, type BpfKfunc } from './define.js';

/** Linux BPF_MAX_LOOPS: the most numbers one iterator may hand out. */
export const BPF_MAX_LOOPS = 8 * 1024 * 1024;
/** struct bpf_iter_num_kern's fields. */
const CUR = 0;
const END = 4;
/** struct bpf_iter_num's size: the stack slot the verifier reserves for it. */
export const BPF_ITER_NUM_SIZE = 8;
const EINVAL = 22;
const E2BIG = 7;

export const ITER_NUM_KFUNCS: readonly BpfKfunc[] = [
  kfunc(
    'bpf_iter_num_new',
    {
      ret: 'int',
      args: [
        { name: 'it', ctype: 'struct bpf_iter_num *' },
        { name: 'start', ctype: 'int' },
        { name: 'end', ctype: 'int' },
      ],
    },
    KF.ITER_NEW,
    'common',
    () => (ctx) => {
      const view = ctx.mem.dataView;
      const s = ctx.argNumber(1);
      const start = ctx.argU32(2) | 0;
      const end = ctx.argU32(3) | 0;
      // An empty range (start == end) is fine: the first next() gives NULL.
      let err = 0;
      if (start > end) err = -EINVAL;
      else if (end - start > BPF_MAX_LOOPS) err = -E2BIG;
      // next() increments cur first, so it starts one below.
      view.setInt32(s + CUR, err === 0 ? start - 1 : 0, true);
      view.setInt32(s + END, err === 0 ? end : 0, true);
      return err;
    },
  ),
  kfunc('bpf_iter_num_next', { ret: 'int *', args: [{ name: 'it', ctype: 'struct bpf_iter_num *' }] }, KF.ITER_NEXT | KF.RET_NULL, 'common', () => (ctx) => {
    const view = ctx.mem.dataView;
    const s = ctx.argNumber(1);
    const cur = view.getInt32(s + CUR, true);
    // (s64)(s->cur + 1) >= s->end: done (or never initialised): NULL, and the iterator stays drained.
    if (cur + 1 >= view.getInt32(s + END, true)) {
      view.setInt32(s + CUR, 0, true);
      view.setInt32(s + END, 0, true);
      return 0;
    }
    view.setInt32(s + CUR, cur + 1, true);
    return s + CUR;
  }),
  kfunc('bpf_iter_num_destroy', { ret: 'void', args: [{ name: 'it', ctype: 'struct bpf_iter_num *' }] }, KF.ITER_DESTROY, 'common', () => (ctx) => {
    const view = ctx.mem.dataView;
    const s = ctx.argNumber(1);
    view.setInt32(s + CUR, 0, true);
    view.setInt32(s + END, 0, true);
    return 0;
  }),
];
