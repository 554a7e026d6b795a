import { describe } from 'vitest';
import { defineCases } from './harness.js';
import { ALU } from './cases/alu.js';

describe('verifier selftests: alu', () => defineCases(ALU));
