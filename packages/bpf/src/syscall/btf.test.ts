import { BTF_MAX_SIZE } from '@ebpf-sim/btf';
import { createKernel, type Kernel } from '@ebpf-sim/kernel';
import { BPF_LOG, BPF_MAP_F, BPF_MAP_INFO, BPF_MAP_TYPE, BPF_UPDATE, Errno, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { recordedBlob } from '../../../btf/fixtures/blobs.js';
import { ENOTSUPP } from '../maps/map.js';
import { runUserProgram } from '../testing/user-program.js';
import { registerBpf, type BpfSyscall } from './bpf-syscall.js';

const blob = recordedBlob;

/** Run `program` as `uid` in a kernel with bpf(); the kernel and the subsystem afterwards. */
function run(program: (libc: Libc) => Generator<number, void, number>, uid = 0): { kernel: Kernel; bpf: BpfSyscall } {
  const kernel = createKernel({ cpus: 1 });
  const bpf = registerBpf(kernel);
  runUserProgram(kernel, program, uid);
  return { kernel, bpf };
}

describe('BPF_BTF_LOAD', () => {
  it('loads a valid blob as an anon_inode:btf fd with an id, reads it back, and frees it with the last fd', () => {
    const bytes = blob('valid_all_kinds');
    const { kernel, bpf } = run(function* (libc) {
      const loaded = yield* libc.bpfBtfLoad(bytes, 1, 4096);
      expect(loaded.fd).toBeGreaterThan(0);
      expect(loaded.log.startsWith('magic: 0xeb9f\nversion: 1\n')).toBe(true);
      expect(loaded.logTrueSize).toBe(loaded.log.length + 1);
      const info = yield* libc.bpfBtfGetInfo(loaded.fd, bytes.length + 16);
      if (!info.ok) throw new Error(`info: ${info.errno}`);
      expect(info.value.btfSize).toBe(bytes.length);
      expect(info.value.btf).toEqual(bytes);
      expect(info.value.kernelBtf).toBe(false);
      // A smaller buffer gets the first bytes, and btf_size still says the whole size.
      const partial = yield* libc.bpfBtfGetInfo(loaded.fd, 8);
      expect(partial.ok && partial.value.btf).toEqual(bytes.subarray(0, 8));
      expect(partial.ok && partial.value.btfSize).toBe(bytes.length);
      // Object 1 is the kernel's own (vmlinux), as on Linux: the loaded one comes after it.
      const next = yield* libc.bpfAttr('BTF_GET_NEXT_ID', { start_id: 1 });
      expect(next.ret).toBe(0);
      expect(next.attr.next_id).toBe(info.value.id);
      const again = yield* libc.bpfBtfGetFdById(info.value.id);
      expect(again).toBeGreaterThan(loaded.fd);
      expect(yield* libc.close(loaded.fd)).toBe(0);
      const still = yield* libc.bpfBtfGetInfo(again, 0);
      expect(still.ok && still.value.id).toBe(info.value.id);
      expect(yield* libc.close(again)).toBe(0);
      expect(yield* libc.bpfBtfGetFdById(info.value.id)).toBe(-Errno.ENOENT);
      expect((yield* libc.bpfAttr('BTF_GET_NEXT_ID', { start_id: 1 })).ret).toBe(-Errno.ENOENT);
    });
    expect(bpf.btfs.ids.size).toBe(1); // vmlinux's
    expect(kernel.phys.usageOf('bpf-btf').allocations).toBe(0);
  });

  it('refuses a bad blob with EINVAL and the log line Linux writes', () => {
    run(function* (libc) {
      const loaded = yield* libc.bpfBtfLoad(blob('struct_member_missing'), 1, 4096);
      expect(loaded.fd).toBe(-Errno.EINVAL);
      expect(loaded.log.endsWith('[2] STRUCT foo size=4 vlen=1\n\tx type_id=9 bits_offset=0 Invalid member\n')).toBe(true);
      expect((yield* libc.bpfBtfLoad(blob('bad_magic'))).fd).toBe(-Errno.EINVAL);
      expect((yield* libc.bpfBtfLoad(blob('const_loop'))).fd).toBe(-Errno.EEXIST);
      expect((yield* libc.bpfBtfLoad(blob('bad_version'))).fd).toBe(-ENOTSUPP);
    });
  });

  it('answers the attribute rules: E2BIG, EFAULT, log attributes, ENOSPC for a short log, flags', () => {
    const { kernel } = run(function* (libc) {
      expect((yield* libc.bpfAttr('BTF_LOAD', { btf: 0x1000, btf_size: BTF_MAX_SIZE + 1 })).ret).toBe(-Errno.E2BIG);
      expect((yield* libc.bpfAttr('BTF_LOAD', { btf: 0x10, btf_size: 64 })).ret).toBe(-Errno.EFAULT);
      expect((yield* libc.bpfAttr('BTF_LOAD', { btf: 0x10, btf_size: 64, btf_log_size: 64 })).ret).toBe(-Errno.EINVAL);
      expect((yield* libc.bpfAttr('BTF_LOAD', { btf: 0x10, btf_size: 64, btf_flags: 1 })).ret).toBe(-Errno.EINVAL);
      // A valid blob with a log too short for it: ENOSPC, and log_true_size says what it needs.
      const short = yield* libc.bpfBtfLoad(blob('valid_int_struct'), 1, 32);
      expect(short.fd).toBe(-Errno.ENOSPC);
      expect(short.logTrueSize).toBeGreaterThan(32);
      // BPF_LOG_FIXED keeps the beginning.
      const fixed = yield* libc.bpfBtfLoad(blob('valid_int_struct'), 1 | BPF_LOG.FIXED, 16);
      expect(fixed.log).toBe('magic: 0xeb9f\nv');
    });
    expect(kernel.phys.usageOf('bpf-btf').allocations).toBe(0);
  });

  it('needs CAP_BPF (EPERM), and CAP_SYS_ADMIN for the ids', () => {
    run(function* (libc) {
      expect((yield* libc.bpfBtfLoad(blob('valid_int_struct'))).fd).toBe(-Errno.EPERM);
      expect(yield* libc.bpfBtfGetFdById(1)).toBe(-Errno.EPERM);
      expect((yield* libc.bpfAttr('BTF_GET_NEXT_ID', { start_id: 0 })).ret).toBe(-Errno.EPERM);
    }, 1000);
  });
});

/**
 * What this machine's Linux 6.18 answered for the same MAP_CREATE calls with valid_spin_lock_value loaded (a raw
 * bpf() program, run once): HASH 4/8 with ids 1/3 created; key_size 8, value id 99, key id 0, key id without a
 * value id: EINVAL; btf_fd not open: EBADF; TASK_STORAGE with ids created, without them EINVAL.
 */
describe('MAP_CREATE with BTF', () => {
  /** valid_spin_lock_value: [1] int, [2] struct bpf_spin_lock { int val; }, [3] struct val { int val; struct bpf_spin_lock lock; }. */
  const INT = 1;
  const VALUE = 3;

  it('checks the type ids against key_size / value_size, finds the spin lock, and holds the BTF until the map goes', () => {
    const { kernel, bpf } = run(function* (libc) {
      const btf = (yield* libc.bpfBtfLoad(blob('valid_spin_lock_value'))).fd;
      expect(btf).toBeGreaterThan(0);
      const hash = { map_type: BPF_MAP_TYPE.HASH, key_size: 4, value_size: 8, max_entries: 4, btf_fd: btf };
      const map = yield* libc.bpfMapCreate({ ...hash, btf_key_type_id: INT, btf_value_type_id: VALUE });
      expect(map).toBeGreaterThan(0);
      // The value has a bpf_spin_lock: BPF_F_LOCK updates are allowed (without one they are EINVAL).
      const key = new Uint8Array(4);
      expect(yield* libc.bpfMapUpdate(map, key, new Uint8Array(8), BPF_UPDATE.F_LOCK)).toBe(0);
      // Wrong sizes, wrong ids, wrong fds.
      expect(yield* libc.bpfMapCreate({ ...hash, key_size: 8, btf_key_type_id: INT, btf_value_type_id: VALUE })).toBe(-Errno.EINVAL);
      expect(yield* libc.bpfMapCreate({ ...hash, btf_key_type_id: INT, btf_value_type_id: 99 })).toBe(-Errno.EINVAL);
      expect(yield* libc.bpfMapCreate({ ...hash, btf_key_type_id: 0, btf_value_type_id: VALUE })).toBe(-Errno.EINVAL);
      expect(yield* libc.bpfMapCreate({ ...hash, btf_key_type_id: INT, btf_value_type_id: 0 })).toBe(-Errno.EINVAL);
      expect(yield* libc.bpfMapCreate({ ...hash, btf_fd: 77, btf_key_type_id: INT, btf_value_type_id: VALUE })).toBe(-Errno.EBADF);
      expect(yield* libc.bpfMapCreate({ ...hash, btf_fd: map, btf_key_type_id: INT, btf_value_type_id: VALUE })).toBe(-Errno.EINVAL);
      // The map keeps the BTF object after its fd is closed.
      const info = yield* libc.bpfBtfGetInfo(btf, 0);
      const id = info.ok ? info.value.id : 0;
      expect(yield* libc.close(btf)).toBe(0);
      const again = yield* libc.bpfBtfGetFdById(id);
      expect(again).toBeGreaterThan(0);
      expect(yield* libc.close(again)).toBe(0);
      expect(yield* libc.close(map)).toBe(0);
      // The map's reference was the last.
      expect(yield* libc.bpfBtfGetFdById(id)).toBe(-Errno.ENOENT);
    });
    expect(bpf.btfs.ids.size).toBe(1); // vmlinux's
    expect(bpf.maps.size).toBe(0);
    expect(kernel.phys.usageOf('bpf-btf').allocations).toBe(0);
  });

  it('fills btf_id, btf_key_type_id and btf_value_type_id of bpf_map_info', () => {
    run(function* (libc) {
      const btf = (yield* libc.bpfBtfLoad(blob('valid_spin_lock_value'))).fd;
      const map = yield* libc.bpfMapCreate({
        map_type: BPF_MAP_TYPE.ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        btf_fd: btf,
        btf_key_type_id: INT,
        btf_value_type_id: INT,
      });
      const btfInfo = yield* libc.bpfBtfGetInfo(btf, 0);
      const mark = libc.stack.mark();
      const address = libc.stack.alloca(BPF_MAP_INFO.size);
      expect((yield* libc.bpfAttr('OBJ_GET_INFO_BY_FD', { bpf_fd: map, info_len: BPF_MAP_INFO.size, info: address })).ret).toBe(0);
      const bytes = libc.stack.readBytes(address, BPF_MAP_INFO.size);
      libc.stack.release(mark);
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      expect(view.getUint32(BPF_MAP_INFO.btf_id, true)).toBe(btfInfo.ok ? btfInfo.value.id : -1);
      expect(view.getUint32(BPF_MAP_INFO.btf_key_type_id, true)).toBe(INT);
      expect(view.getUint32(BPF_MAP_INFO.btf_value_type_id, true)).toBe(INT);
    });
  });

  it('creates a TASK_STORAGE map through bpf(), which needs the BTF type ids', () => {
    run(function* (libc) {
      const btf = (yield* libc.bpfBtfLoad(blob('valid_spin_lock_value'))).fd;
      const storage = { map_type: BPF_MAP_TYPE.TASK_STORAGE, key_size: 4, value_size: 8, max_entries: 0, map_flags: BPF_MAP_F.NO_PREALLOC };
      expect(yield* libc.bpfMapCreate(storage)).toBe(-Errno.EINVAL);
      const map = yield* libc.bpfMapCreate({ ...storage, btf_fd: btf, btf_key_type_id: INT, btf_value_type_id: VALUE });
      expect(map).toBeGreaterThan(0);
    });
  });
});
