import { describe } from 'vitest';
import { defineCases } from './harness.js';
import { PTR } from './cases/ptr.js';

describe('verifier selftests: ptr', () => defineCases(PTR));
