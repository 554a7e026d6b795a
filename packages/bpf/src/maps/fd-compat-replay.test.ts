/**
 * Which helpers the verifier lets a program call on the fd maps (check_map_func_compatibility: the map side,
 * `maps.ts` MAP_ONLY_HELPERS, and the helper side, each prototype's `mapTypes`), against Linux:
 * fixtures/maps/linux-fd-compat.txt was recorded on Linux 6.18 with fixtures/maps/rebuild-compat.sh
 * (fd-compat.c), which builds each case as `r1 = map; r2 = key or fp-8; r3 = 0; call; r0 = 0; exit` (tc
 * programs: the context first, then the map). The same programs go through this verifier here.
 */
import { readFileSync } from 'node:fs';
import { asm } from '@ebpf-sim/isa';
import { BPF_FUNC, type BpfFuncName } from '@ebpf-sim/uapi';
import { verify } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import { createRegistry, type MapSpec } from '../maps.js';
import { PROGRAM_TYPES } from '../prog-types/index.js';

const { Add, Call, Exit, LdImm64, Mov, St, program, R0, R1, R2, R3, R4, R10 } = asm;

const recorded = readFileSync(new URL('../../fixtures/maps/linux-fd-compat.txt', import.meta.url), 'utf8');

/** The maps fd-compat.c creates (2 entries each), by the name its cases use. */
const MAPS: readonly MapSpec[] = [
  { name: 'cpumap', type: 'cpumap', keySize: 4, valueSize: 4, maxEntries: 2 },
  { name: 'xskmap', type: 'xskmap', keySize: 4, valueSize: 4, maxEntries: 2 },
  { name: 'sockmap', type: 'sockmap', keySize: 4, valueSize: 8, maxEntries: 2 },
  { name: 'reuseport_sockarray', type: 'reuseport_sockarray', keySize: 4, valueSize: 8, maxEntries: 2 },
  { name: 'cgroup_array', type: 'cgroup_array', keySize: 4, valueSize: 4, maxEntries: 2 },
  { name: 'array', type: 'array', keySize: 4, valueSize: 8, maxEntries: 2 },
];

/** The helpers whose key argument is a pointer to the stack (fd-compat.c's `key_arg`). */
const KEY_BY_POINTER = new Set<BpfFuncName>(['map_lookup_elem', 'map_delete_elem']);
/** The helpers whose first argument is the context (fd-compat.c's `ctx_first`). */
const CTX_FIRST = new Set<BpfFuncName>(['skb_under_cgroup']);

/** fd-compat.c's program for `helper` on map fd `fd`. */
function caseProgram(helper: BpfFuncName, fd: number): ReturnType<typeof program> {
  // r1 = map, r2 = key, r3 = 0; or r2 = map, r3 = key, r4 = 0 after the context.
  const [map, key, flags] = CTX_FIRST.has(helper) ? [R2, R3, R4] : [R1, R2, R3];
  const keyArg = KEY_BY_POINTER.has(helper) ? [Mov.reg(key, R10), Add.imm(key, -8)] : [Mov.imm(key, 0)];
  return program(St.dw(R10, -8, 0), LdImm64.mapFd(map, fd), ...keyArg, Mov.imm(flags, 0), Call.helper(BPF_FUNC[helper]), Mov.imm(R0, 0), Exit());
}

describe('helper and map compatibility of the fd maps, as Linux 6.18 decides it', () => {
  const lines = recorded
    .trimEnd()
    .split('\n')
    .filter((line) => !line.startsWith('#'));

  it('records a kernel and every case', () => {
    expect(recorded).toMatch(/^# linux \d+\.\d+/);
    expect(lines.length).toBe(12);
  });

  it.each(lines.map((line) => [line] as const))('%s', (line) => {
    const [what = '', answer = ''] = line.split(' => ');
    const [type = '', helper = '', mapName = ''] = what.split(' ');
    const progType = PROGRAM_TYPES.get(type);
    if (progType === undefined) throw new Error(`unknown program type ${type}`);
    const fd = MAPS.findIndex((m) => m.name === mapName);
    const result = verify(caseProgram(helper as BpfFuncName, fd), { progType, registry: createRegistry(MAPS), logLevel: 1, privileged: true, gpl: true });
    if (answer === 'accept') expect(result.accepted, result.log).toBe(true);
    else {
      expect(result.accepted).toBe(false);
      expect(result.log).toContain(answer.replace(/^reject: /, ''));
    }
  });
});
