/** loopwise/testing: virtual time and helpers for tests. Re-exports only. */
export { TestClock, type TestClockOptions } from './test-clock.js';
