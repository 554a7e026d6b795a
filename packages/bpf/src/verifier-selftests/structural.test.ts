import { describe } from 'vitest';
import { defineCases } from './harness.js';
import { STRUCTURAL } from './cases/structural.js';

describe('verifier selftests: structural checks', () => defineCases(STRUCTURAL));
