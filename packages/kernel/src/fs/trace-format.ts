/**
 * A tracepoint's tracefs `format` file as Linux writes it (kernel/trace/trace_events.c f_show): name, ID, the
 * common fields, a blank line, the event's own fields, a blank line and the event's `print fmt`. The print
 * formats are Linux 6.18's (recorded in fixtures/tracefs/formats.txt by record-formats.sh): the syscall events'
 * are generated as kernel/trace/trace_syscalls.c does, the others are listed here. An event without a known
 * print format (one a driver or subsystem defined without giving it) ends after its fields.
 */
import type { ContextField } from '../hooks/hook.js';

/** Print formats of the non-syscall tracepoints, as TP_printk leaves them in Linux 6.18. */
const PRINT_FMTS: Readonly<Record<string, string>> = {
  'raw_syscalls:sys_enter':
    '"NR %ld (%lx, %lx, %lx, %lx, %lx, %lx)", REC->id, REC->args[0], REC->args[1], REC->args[2], REC->args[3], REC->args[4], REC->args[5]',
  'raw_syscalls:sys_exit': '"NR %ld = %ld", REC->id, REC->ret',
  'sched:sched_switch':
    '"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d", REC->prev_comm, REC->prev_pid, REC->prev_prio, ' +
    '(REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)) ? ' +
    '__print_flags(REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1), "|", ' +
    '{ 0x00000001, "S" }, { 0x00000002, "D" }, { 0x00000004, "T" }, { 0x00000008, "t" }, { 0x00000010, "X" }, { 0x00000020, "Z" }, { 0x00000040, "P" }, { 0x00000080, "I" }) : "R", ' +
    'REC->prev_state & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) ? "+" : "", REC->next_comm, REC->next_pid, REC->next_prio',
  'sched:sched_wakeup': '"comm=%s pid=%d prio=%d target_cpu=%03d", REC->comm, REC->pid, REC->prio, REC->target_cpu',
  'sched:sched_process_fork': '"comm=%s pid=%d child_comm=%s child_pid=%d", __get_str(parent_comm), REC->parent_pid, __get_str(child_comm), REC->child_pid',
  'sched:sched_process_exec': '"filename=%s pid=%d old_pid=%d", __get_str(filename), REC->pid, REC->old_pid',
  'sched:sched_process_exit': '"comm=%s pid=%d prio=%d group_dead=%s", REC->comm, REC->pid, REC->prio, REC->group_dead ? "true" : "false"',
};

/**
 * The print format of `name` (`syscalls:sys_enter_openat`): set_syscall_print_fmt's for syscall events (each
 * argument `name: 0x%08lx`, cast to unsigned long; the exit event's `"0x%lx", REC->ret`), else the table's.
 */
export function tracepointPrintFmt(name: string, fields: readonly ContextField[]): string | undefined {
  if (name.startsWith('syscalls:sys_exit_')) return '"0x%lx", REC->ret';
  if (name.startsWith('syscalls:sys_enter_')) {
    const args = fields.filter((field) => !field.name.startsWith('common_') && field.name !== '__syscall_nr').map((field) => field.name);
    return `"${args.map((arg) => `${arg}: 0x%08lx`).join(', ')}"${args.map((arg) => `, ((unsigned long)(REC->${arg}))`).join('')}`;
  }
  return PRINT_FMTS[name];
}

/** A field as C declares it: `char comm[16]` for a fixed array, `__data_loc char[] name` as Linux spells dynamic arrays. */
function declaration(field: ContextField): string {
  const array = /^(.*)\[(\d+)\]$/.exec(field.ctype);
  return array === null ? `${field.ctype} ${field.name}` : `${array[1] ?? ''} ${field.name}[${array[2] ?? ''}]`;
}

/** The whole `format` file of the tracepoint `name` with ID `id` and record `fields`. */
export function tracepointFormat(name: string, id: number, fields: readonly ContextField[]): string {
  const line = (field: ContextField): string =>
    `\tfield:${declaration(field)};\toffset:${field.offset};\tsize:${field.size};\tsigned:${field.signed ? 1 : 0};\n`;
  const common = fields.filter((field) => field.name.startsWith('common_'));
  const own = fields.filter((field) => !field.name.startsWith('common_'));
  const printFmt = tracepointPrintFmt(name, fields);
  return (
    `name: ${name.slice(name.indexOf(':') + 1)}\nID: ${id}\nformat:\n${common.map(line).join('')}\n${own.map(line).join('')}` +
    (printFmt === undefined ? '' : `\nprint fmt: ${printFmt}\n`)
  );
}
