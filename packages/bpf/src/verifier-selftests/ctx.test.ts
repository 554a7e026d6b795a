import { describe } from 'vitest';
import { defineCases } from './harness.js';
import { CTX } from './cases/ctx.js';

describe('verifier selftests: ctx', () => defineCases(CTX));
