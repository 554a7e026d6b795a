import { describe, expect, it } from 'vitest';
import { BPF_ATTR_LAYOUTS, BPF_ATTR_SCHEMAS, decodeBpfAttr, encodeBpfAttr } from './attr.js';
import { BPF_CMD, BPF_MAP_TYPE, BPF_PROG_TYPE } from './constants.js';

describe('bpf_attr', () => {
  it('has the offsets of include/uapi/linux/bpf.h (x86_64)', () => {
    expect(BPF_ATTR_LAYOUTS.MAP_CREATE.map_name.offset).toBe(28);
    expect(BPF_ATTR_LAYOUTS.MAP_CREATE.map_extra.offset).toBe(64);
    expect(BPF_ATTR_LAYOUTS.PROG_LOAD.prog_name.offset).toBe(48);
    expect(BPF_ATTR_LAYOUTS.PROG_LOAD.expected_attach_type.offset).toBe(68);
    expect(BPF_ATTR_LAYOUTS.PROG_LOAD.fd_array.offset).toBe(120);
    expect(BPF_ATTR_LAYOUTS.PROG_TEST_RUN.batch_size.offset).toBe(72);
    expect(BPF_ATTR_LAYOUTS.MAP_UPDATE_ELEM.flags.offset).toBe(24);
    expect(BPF_ATTR_LAYOUTS.MAP_LOOKUP_BATCH.elem_flags.offset).toBe(40);
    expect(BPF_CMD.LINK_CREATE).toBe(28);
    expect(BPF_MAP_TYPE.BLOOM_FILTER).toBe(30);
    expect(BPF_PROG_TYPE.LSM).toBe(29);
  });

  it('round-trips every command through encode and decode', () => {
    const attr = { map_type: BPF_MAP_TYPE.HASH, key_size: 4, value_size: 8, max_entries: 1024, map_flags: 1, map_name: 'counts', map_extra: 2 ** 40 + 5 };
    const bytes = encodeBpfAttr('MAP_CREATE', attr);
    expect(bytes.length).toBe(144);
    expect(decodeBpfAttr('MAP_CREATE', bytes)).toMatchObject(attr);
    expect(decodeBpfAttr('MAP_CREATE', bytes.subarray(0, 48))).toMatchObject({ map_name: 'counts', btf_fd: 0, map_extra: 0 });
    const load = { prog_type: BPF_PROG_TYPE.XDP, insn_cnt: 2, insns: 0x7ffe00001000, license: 0x7ffe00002000, prog_name: 'fifteen_chars_x' };
    expect(decodeBpfAttr('PROG_LOAD', encodeBpfAttr('PROG_LOAD', load))).toMatchObject(load);
    // A name must leave room for its NUL in char[16] (Linux: -EINVAL).
    expect(() => encodeBpfAttr('PROG_LOAD', { prog_name: 'sixteen_chars_xx' })).toThrow(/prog_name/);
    const unterminated = encodeBpfAttr('PROG_LOAD', {});
    unterminated.fill(0x41, 48, 64);
    expect(BPF_ATTR_SCHEMAS.PROG_LOAD.safeParse(decodeBpfAttr('PROG_LOAD', unterminated)).success).toBe(false);
    for (const cmd of Object.keys(BPF_ATTR_LAYOUTS) as Array<keyof typeof BPF_ATTR_LAYOUTS>) {
      expect(BPF_ATTR_SCHEMAS[cmd].safeParse(decodeBpfAttr(cmd, new Uint8Array(0))).success).toBe(true);
    }
  });

  it('rejects values that do not fit their field', () => {
    expect(() => encodeBpfAttr('MAP_CREATE', { key_size: -1 })).toThrow(/key_size/);
    expect(() => encodeBpfAttr('OBJ_PIN', { path_fd: 2 ** 31 })).toThrow(/path_fd/);
  });

  it('writes a u64 given as a bigint exactly (a 64-bit bpf_cookie), and refuses one past 64 bits or negative', () => {
    const cookie = 0xdeadbeefcafebabdn;
    const bytes = encodeBpfAttr('LINK_CREATE', { bpf_cookie: cookie, prog_fd: 3 });
    const view = new DataView(bytes.buffer);
    expect(view.getBigUint64(BPF_ATTR_LAYOUTS.LINK_CREATE.bpf_cookie.offset, true)).toBe(cookie);
    expect(() => encodeBpfAttr('LINK_CREATE', { bpf_cookie: 1n << 64n })).toThrow(/bpf_cookie/);
    expect(() => encodeBpfAttr('LINK_CREATE', { bpf_cookie: -1n })).toThrow(/bpf_cookie/);
  });
});
