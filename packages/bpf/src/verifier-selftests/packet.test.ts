import { describe } from 'vitest';
import { defineCases } from './harness.js';
import { PACKET } from './cases/packet.js';

describe('verifier selftests: packet', () => defineCases(PACKET));
