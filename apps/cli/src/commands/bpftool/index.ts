import { defineGroup } from '../../args.js';
import type { Command } from '../../command.js';
import { batchCommand } from './batch.js';
import { BTF_VERBS } from './btf.js';
import { LINK_VERBS } from './link.js';
import { NET_VERBS } from './net.js';
import { PERF_VERBS } from './perf.js';
import { MAP_VERBS } from './map.js';
import { PROG_VERBS } from './prog.js';
import { STRUCT_OPS_VERBS } from './struct-ops.js';
import { verbCommand, type Verb } from './verb.js';
import { WORKLOAD_VERBS } from './workloads.js';

/** A bpftool object (`prog`, `map`, `btf`) as a command group of its verbs. */
function group(name: string, summary: string, description: string, verbs: readonly Verb[]): Command {
  return defineGroup({ name, summary, description, commands: verbs.map(verbCommand) });
}

/** Every verb, for batch files. */
export const BPFTOOL_VERBS: readonly Verb[] = [
  ...PROG_VERBS,
  ...MAP_VERBS,
  ...BTF_VERBS,
  ...LINK_VERBS,
  ...NET_VERBS,
  ...PERF_VERBS,
  ...WORKLOAD_VERBS,
  ...STRUCT_OPS_VERBS,
];

export const bpftoolCommands: readonly Command[] = [
  group(
    'prog',
    'bpftool prog: run, dump, show and load programs in a simulated kernel',
    'The commands of bpftool prog, against a simulated kernel that lives as long as the command.',
    PROG_VERBS,
  ),
  group(
    'map',
    'bpftool map: show, dump, look up and update maps in a simulated kernel',
    'The commands of bpftool map, against a simulated kernel that lives as long as the command.',
    MAP_VERBS,
  ),
  group('btf', 'bpftool btf: dump BTF as a type listing or as C (vmlinux.h)', 'The commands of bpftool btf.', BTF_VERBS),
  group('link', 'bpftool link: show and detach BPF links in a simulated kernel', 'The commands of bpftool link, against a simulated kernel.', LINK_VERBS),
  group('net', 'bpftool net: attach, detach and show XDP and tcx programs of a device', 'The commands of bpftool net, against a simulated kernel.', NET_VERBS),
  group('perf', 'bpftool perf: the processes whose perf event fds run BPF programs', 'The commands of bpftool perf, against a simulated kernel.', PERF_VERBS),
  group(
    'struct_ops',
    'bpftool struct_ops: register, show and unregister struct_ops maps in a simulated kernel',
    'The commands of bpftool struct_ops (show, list, register, unregister), against a simulated kernel.',
    STRUCT_OPS_VERBS,
  ),
  group(
    'workload',
    "Run one of the kernel's workloads in a simulated kernel (in a batch file: after attaching programs)",
    "Run a workload to completion and print what programs wrote to trace_pipe; useful in a batch file after 'prog loadall ... autoattach'.",
    WORKLOAD_VERBS,
  ),
  batchCommand(BPFTOOL_VERBS),
];
