export { STRUCTURAL } from './structural.js';
