// Minimal typings for the parts of Node's built-in test runner and assert
// module used by these tests (keeps @types/node out of the dev dependencies).

declare module 'node:test' {
  type TestFn = () => void | Promise<void>;
  export function describe(name: string, fn: () => void): void;
  export function it(name: string, fn: TestFn): void;
  export function test(name: string, fn: TestFn): void;
}

declare module 'node:assert/strict' {
  interface IAssert {
    (value: unknown, message?: string): asserts value;
    ok(value: unknown, message?: string): asserts value;
    equal<T>(actual: unknown, expected: T, message?: string): asserts actual is T;
    notEqual(actual: unknown, expected: unknown, message?: string): void;
    deepEqual<T>(actual: unknown, expected: T, message?: string): asserts actual is T;
    throws(fn: () => unknown, expected?: RegExp | object, message?: string): void;
    match(value: string, regexp: RegExp, message?: string): void;
  }
  const assert: IAssert;
  export default assert;
}
