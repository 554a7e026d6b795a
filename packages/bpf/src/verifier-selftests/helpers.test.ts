import { describe } from 'vitest';
import { defineCases } from './harness.js';
import { HELPERS } from './cases/helpers.js';

describe('verifier selftests: helpers', () => defineCases(HELPERS));
