export { BpfSyscall, registerBpf, type BpfKernel, type BpfServices, type MapObject } from './bpf-syscall.js';
export { CyclicIdr } from './idr.js';
