export { BpfSyscall, registerBpf, type BpfKernel, type BpfOptions, type BpfServices, type MapObject } from './bpf-syscall.js';
export { ProgSyscall, type ProgObject } from './prog.js';
export { LinkSyscall, type BpfLink, type BpfLinkOps, type LinkPrimer } from './link.js';
export type { BpfSysctls } from './sysctls.js';
export { CyclicIdr } from './idr.js';
