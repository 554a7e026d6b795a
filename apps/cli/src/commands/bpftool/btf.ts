/**
 * `btf dump`, as bpftool btf dump: the raw listing (`[N] STRUCT 'name' size=...`, or -j JSON) or C (`format c`, the
 * vmlinux.h form). The BTF comes from a file (an object's .BTF section, or a raw BTF blob), from the simulated
 * kernel's /sys/kernel/btf/ (its own vmlinux BTF), or from a BTF object the kernel holds (`id N`).
 */
import { BtfDumpError, BtfError, dumpBtfC, dumpBtfRaw, dumpBtfRawJson, parseBtf, type Btf } from '@ebpf-sim/btf';
import { O, strerror, type Libc, type Sys } from '@ebpf-sim/uapi';
import { CliError, UsageError } from '../../command.js';
import { readInputFile } from '../../files.js';
import { readBpfObject } from '../isa/objfile.js';
import type { StepContext } from './session.js';
import type { Verb } from './verb.js';

/** Files under this directory are the simulated kernel's (its vmlinux BTF), not the host's. */
const KERNEL_BTF_DIR = '/sys/kernel/btf/';
const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
/** bpftool's buffer for a BTF object's blob is grown until it fits; the kernel says how big it is first. */
const READ_CHUNK = 64 * 1024;

/** Where the BTF comes from. */
type BtfSource =
  | { readonly kind: 'host'; readonly path: string; readonly bytes: Uint8Array }
  | { readonly kind: 'kernel-file'; readonly path: string }
  | { readonly kind: 'id'; readonly id: number };

/** An object's .BTF section (libbpf's btf__parse_elf: as clang wrote it, before any loader fixup), or a raw blob. */
function hostBlob(path: string, bytes: Uint8Array): Uint8Array {
  if (!ELF_MAGIC.every((b, i) => bytes[i] === b)) return bytes;
  const section = readBpfObject(path, bytes).section('.BTF');
  if (section === undefined) throw new CliError(`${path}: no .BTF section (compile with -g)`);
  return section.data;
}

function* kernelFile(libc: Libc, path: string): Sys<Uint8Array> {
  const fd = yield* libc.open(path, O.RDONLY);
  if (fd < 0) throw new CliError(`${path}: cannot read file in the simulated kernel (${strerror(-fd)})`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { ret, data } = yield* libc.read(fd, READ_CHUNK);
    if (ret < 0) throw new CliError(`${path}: read failed: ${strerror(-ret)}`);
    if (ret === 0) break;
    chunks.push(data.slice(0, ret));
    total += ret;
  }
  yield* libc.close(fd);
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function* kernelObject(libc: Libc, id: number): Sys<Uint8Array> {
  const fd = yield* libc.bpfBtfGetFdById(id);
  if (fd < 0) throw new CliError(`get btf by id (${id}): ${strerror(-fd)}`);
  const size = yield* libc.bpfBtfGetInfo(fd, 0);
  const info = size.ok ? yield* libc.bpfBtfGetInfo(fd, size.value.btfSize) : size;
  yield* libc.close(fd);
  if (!info.ok) throw new CliError(`get btf info (${id}): ${strerror(info.errno)}`);
  return info.value.btf;
}

function parse(where: string, blob: Uint8Array): Btf {
  try {
    return parseBtf(blob, { rules: 'libbpf' });
  } catch (error) {
    if (error instanceof BtfError) throw new CliError(`${where}: ${error.message}`);
    throw error;
  }
}

export const BTF_VERBS: readonly Verb[] = [
  {
    name: 'btf dump',
    summary: 'Print BTF as bpftool btf dump: the raw type listing, or C (a vmlinux.h)',
    synopsis: '(file FILE | id BTF_ID) [format (raw | c)]',
    description: `Print the types of a BTF: "format raw" (the default) lists each type as "[N] KIND 'name' ..." (JSON with
--json), "format c" prints C declarations in the vmlinux.h form libbpf's btf_dump writes, which a BPF program
can include. FILE is an object (its .BTF section) or a raw BTF blob; a path under /sys/kernel/btf/ is the
simulated kernel's file, so "btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h" gives this kernel's
types. id BTF_ID is a BTF object the kernel holds (in a batch file, one a loaded object brought).`,
    parse(words) {
      const how = words.next('file FILE or id BTF_ID');
      let source: BtfSource;
      if (how === 'file') {
        const path = words.next('a file after file');
        source = path.startsWith(KERNEL_BTF_DIR) ? { kind: 'kernel-file', path } : { kind: 'host', path, bytes: readInputFile(path) };
      } else if (how === 'id') source = { kind: 'id', id: words.uint('id', 0xffff_ffff) };
      else throw new UsageError(`expected file FILE or id BTF_ID, not '${how}'`);
      let format = 'raw';
      if (!words.done) {
        if (words.next("'format'") !== 'format') throw new UsageError("expected 'format'");
        format = words.next('raw or c after format');
        if (format !== 'raw' && format !== 'c') throw new UsageError(`unknown format '${format}': expected raw or c`);
      }
      words.end();
      return function* (ctx: StepContext) {
        const where = source.kind === 'id' ? `btf id ${source.id}` : source.path;
        const blob =
          source.kind === 'host'
            ? hostBlob(source.path, source.bytes)
            : source.kind === 'kernel-file'
              ? yield* kernelFile(ctx.libc, source.path)
              : yield* kernelObject(ctx.libc, source.id);
        const btf = parse(where, blob);
        if (format === 'raw') {
          ctx.io.out(ctx.mode === 'plain' ? dumpBtfRaw(btf) : dumpBtfRawJson(btf, undefined, ctx.mode === 'pretty'));
          return;
        }
        if (ctx.mode !== 'plain') throw new UsageError('format c does not print JSON');
        try {
          ctx.io.out(dumpBtfC(btf));
        } catch (error) {
          if (error instanceof BtfDumpError) throw new CliError(`${where}: ${error.message}`);
          throw error;
        }
      };
    },
  },
];
