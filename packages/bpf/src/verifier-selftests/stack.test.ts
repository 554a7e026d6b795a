import { describe } from 'vitest';
import { defineCases } from './harness.js';
import { STACK } from './cases/stack.js';

describe('verifier selftests: stack', () => defineCases(STACK));
