import { ImageError } from '../../src/imaging/types';
import { UserInputError } from '../../src/platform/errors';

/** Awaits a promise that must reject with an ImageError of this code (and message, if given). */
export async function expectImageError(promise: Promise<unknown>, code: string, message?: RegExp): Promise<ImageError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected ImageError ${code}, but it succeeded`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageError);
  expect((error as ImageError).code).toBe(code);
  if (message) expect((error as ImageError).message).toMatch(message);
  return error as ImageError;
}

/** The UserInputError that `run` throws (fails the test when it throws nothing or something else). */
export function inputError(run: () => unknown): UserInputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UserInputError);
    return error as UserInputError;
  }
  throw new Error('expected a UserInputError');
}
