export { readPrograms } from './programs.js';
export type { LinkedFunction, LoadReference, ProgramSpec } from './programs.js';
export { LICENSE_MAX, LICENSE_SECTION, readLicense } from './license.js';
export { MAP_SECTIONS, isDataSection } from './relocations.js';
export type { Relocation } from './relocations.js';
export { TEXT_SECTION } from './functions.js';
export { LoaderError } from './errors.js';
export type { LoaderErrorKind } from './errors.js';
