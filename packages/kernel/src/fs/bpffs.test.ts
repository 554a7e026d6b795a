import { Errno, O } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../mm/physmem.js';
import { handMadeTask } from '../testing/hand-made-task.js';
import { Clock } from '../time/clock.js';
import { Bpffs, BpfPinning } from './bpffs.js';
import type { FileOperations } from './file.js';
import { Vfs } from './vfs.js';

const mapOps: FileOperations = { name: 'bpf-map' };

/** A VFS with bpffs at /sys/fs/bpf and the pinning service over it, and a root task. */
function setup(): { vfs: Vfs; pinning: BpfPinning; phys: PhysicalMemory } {
  const clock = new Clock();
  const vfs = new Vfs(clock);
  const bpffs = new Bpffs(3, clock);
  vfs.mount('/sys/fs/bpf', bpffs.root);
  vfs.mkdirp('/tmp');
  return { vfs, pinning: new BpfPinning(vfs, bpffs), phys: new PhysicalMemory(1 << 20) };
}

describe('pinning in bpffs (BPF_OBJ_PIN, BPF_OBJ_GET)', () => {
  it('unlinking a pin hands its object to fops.unpin once (bpf_free_inode drops the pin reference)', () => {
    const clock = new Clock();
    const bpffs = new Bpffs(3, clock);
    const dropped: unknown[] = [];
    const ops: FileOperations = { name: 'bpf-map', unpin: (object) => dropped.push(object) };
    const map = { id: 7 };
    const inode = bpffs.pin(bpffs.root, 'm', map, ops, { uid: 0, gid: 0 });
    expect(typeof inode).not.toBe('number');
    expect(bpffs.unlink(bpffs.root, 'm')).toBe(0);
    expect(bpffs.unlink(bpffs.root, 'm')).toBe(-Errno.ENOENT);
    expect(dropped).toEqual([map]);
  });

  it('pins by path and gets the object back; refuses what Linux refuses', () => {
    const { vfs, pinning, phys } = setup();
    const task = handMadeTask(phys, vfs);
    const map = { id: 1 };
    expect(pinning.pin(task, '/sys/fs/bpf/counts', map, mapOps)).toBe(0);
    const pinned = pinning.get(task, '/sys/fs/bpf/counts', O.RDWR);
    expect(typeof pinned === 'number' ? pinned : [pinned.privateData, pinned.fops, pinned.mode & 0o777]).toEqual([map, mapOps, 0o600]);
    expect(pinning.pin(task, '/sys/fs/bpf/counts', map, mapOps)).toBe(-Errno.EEXIST);
    expect(pinning.pin(task, '/sys/fs/bpf/..', map, mapOps)).toBe(-Errno.EEXIST);
    expect(pinning.pin(task, '/tmp/counts', map, mapOps)).toBe(-Errno.EPERM);
    expect(pinning.pin(task, '/sys/fs/bpf/nodir/counts', map, mapOps)).toBe(-Errno.ENOENT);
    expect(pinning.pin(task, '/sys/fs/bpf/dir/', map, mapOps)).toBe(-Errno.ENOENT);
    expect(pinning.get(task, '/sys/fs/bpf/missing', O.RDONLY)).toBe(-Errno.ENOENT);
    expect(pinning.get(task, '/sys/fs/bpf', O.RDONLY)).toBe(-Errno.EACCES);
    vfs.writeFile('/tmp/plain', 'x');
    expect(pinning.get(task, '/tmp/plain', O.RDONLY)).toBe(-Errno.EACCES);
  });

  it('checks the caller: no write permission on the directory, no pin; no read permission on the pin, no get', () => {
    const { vfs, pinning, phys } = setup();
    const root = handMadeTask(phys, vfs);
    expect(pinning.pin(root, '/sys/fs/bpf/counts', {}, mapOps)).toBe(0);
    const user = handMadeTask(phys, vfs, { uid: 1000, gid: 1000, euid: 1000, egid: 1000, capEffective: 0 });
    // bpffs's root is 0700 and owned by root: a user cannot even search it.
    expect(pinning.pin(user, '/sys/fs/bpf/mine', {}, mapOps)).toBe(-Errno.EACCES);
    expect(pinning.get(user, '/sys/fs/bpf/counts', O.RDONLY)).toBe(-Errno.EACCES);
  });
});
