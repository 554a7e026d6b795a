/**
 * Program and map handles as bpftool takes them (`id N`, `pinned PATH`, `name NAME`, `tag TAG` for programs),
 * plus an object file `OBJ[:NAME]`: the object is opened and loaded by @ebpf-sim/loader into the command's
 * kernel (libbpf's bpf_object__open + load), and NAME picks its program or map (default: the first).
 */
import { existsSync, statSync } from 'node:fs';
import { BtfError, parseBtf, type Btf } from '@ebpf-sim/btf';
import { ElfError } from '@ebpf-sim/elf';
import { LoaderError, load, openObject, type LoadedObject, type ObjectSpec } from '@ebpf-sim/loader';
import { strerror, type Libc, type Sys } from '@ebpf-sim/uapi';
import { CliError, UsageError } from '../../command.js';
import { readInputFile } from '../../files.js';
import type { Words } from './words.js';

/** An object file named on the command line, read before the kernel starts. */
export interface ObjectFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

export type Handle =
  | { readonly kind: 'id'; readonly id: number }
  | { readonly kind: 'pinned'; readonly path: string }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'tag'; readonly tag: string }
  | { readonly kind: 'object'; readonly file: ObjectFile; readonly name: string | undefined };

const PROG_KEYWORDS = ['id', 'pinned', 'name', 'tag'] as const;
const MAP_KEYWORDS = ['id', 'pinned', 'name'] as const;
const U32_MAX = 0xffff_ffff;

const isFile = (path: string): boolean => existsSync(path) && !statSync(path).isDirectory();

/** Read an object file for a command (one-line error when it cannot be read). */
export function objectFile(path: string): ObjectFile {
  return { path, bytes: readInputFile(path) };
}

/** `OBJ` or `OBJ:NAME`: the whole word when it names a file, else split at its last ':'. */
function objectHandle(word: string): Handle {
  const colon = word.lastIndexOf(':');
  if (isFile(word) || colon <= 0) return { kind: 'object', file: objectFile(word), name: undefined };
  return { kind: 'object', file: objectFile(word.slice(0, colon)), name: word.slice(colon + 1) || undefined };
}

function parseHandle(words: Words, what: 'PROG' | 'MAP'): Handle {
  const keywords: readonly string[] = what === 'PROG' ? PROG_KEYWORDS : MAP_KEYWORDS;
  const first = words.next(`${what} (${keywords.join(' | ')} | OBJ[:NAME])`);
  if (!keywords.includes(first)) return objectHandle(first);
  switch (first) {
    case 'id':
      return { kind: 'id', id: words.uint('id', U32_MAX) };
    case 'pinned':
      return { kind: 'pinned', path: words.next('a path after pinned') };
    case 'name':
      return { kind: 'name', name: words.next('a name after name') };
    default: {
      const tag = words.next('a tag after tag');
      if (!/^[0-9a-fA-F]{16}$/.test(tag)) throw new UsageError(`can't parse tag '${tag}' (16 hex digits)`);
      return { kind: 'tag', tag: tag.toLowerCase() };
    }
  }
}

export const parseProgHandle = (words: Words): Handle => parseHandle(words, 'PROG');
export const parseMapHandle = (words: Words): Handle => parseHandle(words, 'MAP');

/** A failed object load whose message carries the verifier's log: the command prints the log, then one line. */
export class VerifierRejection extends CliError {
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(message);
  }
}

/** openObject of a file, with format errors as one line naming the file. */
export function openFile(file: ObjectFile): ObjectSpec {
  try {
    return openObject(file.bytes, { name: (file.path.split('/').pop() ?? '').split('.')[0] ?? '' });
  } catch (error) {
    if (error instanceof LoaderError || error instanceof ElfError || error instanceof BtfError) throw new CliError(`${file.path}: ${error.message}`);
    throw error;
  }
}

/** Open and load an object into the kernel; a refused program is a {@link VerifierRejection} with its log. */
export function* loadFile(libc: Libc, file: ObjectFile): Sys<{ spec: ObjectSpec; loaded: LoadedObject }> {
  const spec = openFile(file);
  try {
    return { spec, loaded: yield* load(spec, libc) };
  } catch (error) {
    if (!(error instanceof LoaderError)) throw error;
    const [first = '', ...log] = error.message.split('\n');
    if (log.length > 0) throw new VerifierRejection(`${file.path}: ${first}`, `${log.join('\n').trimEnd()}\n`);
    throw new CliError(`${file.path}: ${error.message}`);
  }
}

/** A named member of a loaded object, or the first; the error lists what there is. */
function pick<T>(file: ObjectFile, what: string, members: ReadonlyMap<string, T>, name: string | undefined): T {
  const found = name === undefined ? members.values().next().value : members.get(name);
  if (found !== undefined) return found;
  const have = [...members.keys()];
  throw new CliError(
    name === undefined ? `${file.path}: the object has no ${what}` : `${file.path}: no ${what} named '${name}' (${what}s: ${have.join(', ') || 'none'})`,
  );
}

/** What resolving a handle needs of one kind of object: its id commands, its name, and its members in a loaded object. */
export interface HandleKind {
  /** `programs` / `maps`, for messages. */
  readonly plural: 'programs' | 'maps';
  readonly nextId: 'PROG_GET_NEXT_ID' | 'MAP_GET_NEXT_ID';
  readonly fdById: 'PROG_GET_FD_BY_ID' | 'MAP_GET_FD_BY_ID';
  /** The name and tag bpf_obj_get_info_by_fd reports (a map has no tag). */
  identify(libc: Libc, fd: number): Sys<{ name: string; tag?: string } | undefined>;
  members(loaded: LoadedObject): ReadonlyMap<string, { readonly fd: number }>;
}

export const PROG_KIND: HandleKind = {
  plural: 'programs',
  nextId: 'PROG_GET_NEXT_ID',
  fdById: 'PROG_GET_FD_BY_ID',
  *identify(libc, fd) {
    const info = yield* libc.bpfProgGetInfo(fd, 0);
    return info.ok ? { name: info.value.name, tag: info.value.tag } : undefined;
  },
  members: (loaded) => loaded.programs,
};

export const MAP_KIND: HandleKind = {
  plural: 'maps',
  nextId: 'MAP_GET_NEXT_ID',
  fdById: 'MAP_GET_FD_BY_ID',
  *identify(libc, fd) {
    const info = yield* libc.bpfMapGetInfo(fd);
    return info.ok ? { name: info.value.name } : undefined;
  },
  members: (loaded) => loaded.maps,
};

/** An fd on every object of a kind, through *_GET_NEXT_ID and *_GET_FD_BY_ID (bpftool's listing loop). */
export function* allFds(libc: Libc, kind: HandleKind): Sys<number[]> {
  const fds: number[] = [];
  let id = 0;
  for (;;) {
    const { ret, attr } = yield* libc.bpfAttr(kind.nextId, { start_id: id });
    if (ret < 0 || attr.next_id <= id) return fds;
    id = attr.next_id;
    const fd = (yield* libc.bpfAttr(kind.fdById, { id })).ret;
    if (fd >= 0) fds.push(fd);
  }
}

/** The fds a handle names (bpftool's prog_parse_fds / map_parse_fds): name and tag may match several. */
export function* handleFds(libc: Libc, handle: Handle, kind: HandleKind): Sys<number[]> {
  switch (handle.kind) {
    case 'object': {
      const { loaded } = yield* loadFile(libc, handle.file);
      return [pick(handle.file, kind.plural.slice(0, -1), kind.members(loaded), handle.name).fd];
    }
    case 'id': {
      const fd = (yield* libc.bpfAttr(kind.fdById, { id: handle.id })).ret;
      if (fd < 0) throw new CliError(`get by id (${handle.id}): ${strerror(-fd)}`);
      return [fd];
    }
    case 'pinned': {
      const fd = yield* libc.bpfObjGet(handle.path);
      if (fd < 0) throw new CliError(`bpf obj get (${handle.path}): ${strerror(-fd)}`);
      return [fd];
    }
    default: {
      const fds: number[] = [];
      const wanted = handle.kind === 'name' ? handle.name : handle.tag;
      for (const fd of yield* allFds(libc, kind)) {
        const found = yield* kind.identify(libc, fd);
        if (found !== undefined && (handle.kind === 'name' ? found.name : found.tag) === wanted) fds.push(fd);
        else yield* libc.close(fd);
      }
      if (fds.length === 0) throw new CliError(`no ${kind.plural} with ${handle.kind} ${wanted} found`);
      return fds;
    }
  }
}

/** Exactly one fd of a handle: bpftool's "several programs match this handle". */
export function* oneFd(libc: Libc, handle: Handle, kind: HandleKind): Sys<number> {
  const fds = yield* handleFds(libc, handle, kind);
  if (fds.length > 1) throw new CliError(`several ${kind.plural} match this handle`);
  return fds[0] ?? -1;
}

/** A BTF object the kernel holds, by id (BTF_GET_FD_BY_ID, then the blob through OBJ_GET_INFO_BY_FD), parsed. */
export function* btfById(libc: Libc, id: number): Sys<Btf> {
  const fd = yield* libc.bpfBtfGetFdById(id);
  if (fd < 0) throw new CliError(`can't get BTF object ${id}: ${strerror(-fd)}`);
  const size = yield* libc.bpfBtfGetInfo(fd, 0);
  const blob = size.ok ? yield* libc.bpfBtfGetInfo(fd, size.value.btfSize) : size;
  yield* libc.close(fd);
  if (!blob.ok) throw new CliError(`can't get BTF object ${id}: ${strerror(blob.errno)}`);
  return parseBtf(blob.value.btf);
}
