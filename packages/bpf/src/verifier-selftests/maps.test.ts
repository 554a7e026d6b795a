import { describe } from 'vitest';
import { defineCases } from './harness.js';
import { MAPS } from './cases/maps.js';

describe('verifier selftests: maps', () => defineCases(MAPS));
