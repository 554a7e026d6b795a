import { describe } from 'vitest';
import { defineCases } from './harness.js';
import { CALLS } from './cases/calls.js';

describe('verifier selftests: calls', () => defineCases(CALLS));
