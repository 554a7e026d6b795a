/**
 * The helpers against Linux: fixtures/helpers/helper-script.txt was run on Linux 6.18 (fixtures/helpers/
 * rebuild.sh, helper-script.c: each case a raw tracepoint program through BPF_PROG_LOAD and BPF_PROG_TEST_RUN,
 * bpf_trace_printk's message read back from the trace buffer) and its answers recorded in linux-results.txt;
 * the same calls through the helpers' implementations must print the same lines. Strings the script puts on
 * the program's stack (a kernel address) are placed in kernel memory here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { helperRig, type HelperRig } from '../testing/helper-rig.js';

const recorded = readFileSync(fileURLToPath(new URL('../../fixtures/helpers/linux-results.txt', import.meta.url)), 'utf8');

/** The script's C escapes (\n \t \\ \xNN), as helper-script.c reads them. */
function unescape(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) =>
    e === 'n' ? '\n' : e === 't' ? '\t' : e.startsWith('x') ? String.fromCharCode(parseInt(e.slice(1), 16)) : e,
  );
}

const latin1 = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** An argument: a number, or str:<text> placed NUL-terminated in kernel memory (its address). */
function argument(rig: HelperRig, text: string): bigint {
  if (!text.startsWith('str:')) return BigInt(text);
  const bytes = latin1(`${unescape(text.slice(4))}\0`);
  const address = rig.alloc(bytes.length);
  rig.kernel.phys.bytes.set(bytes, address);
  return BigInt(address);
}

/** BPF_PROG_TEST_RUN's retval is a __u32: r0 cut to 32 bits, read back as an int. */
const retval = (r0: bigint): number => Number(BigInt.asIntN(32, r0));

function replay(line: string): string {
  const rig = helperRig();
  const fields = line.split(' | ');
  if (fields[0] === 'printk') {
    const [, fmtText = '', ...args] = fields;
    const fmt = latin1(`${unescape(fmtText)}\0`);
    const fmtAddress = rig.alloc(fmt.length);
    rig.kernel.phys.bytes.set(fmt, fmtAddress);
    const rc = retval(rig.call('trace_printk', BigInt(fmtAddress), BigInt(fmt.length), ...args.map((a) => argument(rig, a))));
    // helper-script.c takes the message's first line from the trace buffer.
    const message = rc >= 0 ? (rig.printed.at(-1) ?? '').split('\n')[0] : '-';
    return `${line} => ${rc} ${message}`;
  }
  const [, helper = '', size = '', source = ''] = fields;
  const dst = rig.alloc(16);
  rig.kernel.phys.bytes.fill(0xff, dst, dst + 16);
  const rc = retval(rig.call(helper === 'probe_read_kernel' ? 'probe_read_kernel' : 'probe_read_kernel_str', BigInt(dst), BigInt(size), argument(rig, source)));
  const hex = [...rig.kernel.phys.bytes.subarray(dst, dst + 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${line} => ${rc} ${hex}`;
}

describe('helpers replay Linux 6.18', () => {
  const lines = recorded.trimEnd().split('\n');

  it('records a kernel', () => {
    expect(lines[0]).toMatch(/^# linux \d+\.\d+/);
  });

  it('gives every answer Linux gave', () => {
    const cases = lines.slice(1);
    expect(cases.map((line) => (line.startsWith('#') || line === '' ? line : replay(line.split(' => ')[0]!)))).toEqual(cases);
  });
});
