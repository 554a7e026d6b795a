import { describe } from 'vitest';
import { defineCases } from './harness.js';
import { JUMPS } from './cases/jumps.js';

describe('verifier selftests: jumps', () => defineCases(JUMPS));
