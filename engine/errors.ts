// The one error type the engine throws for caller mistakes, so users can tell them from bugs.

/** A caller mistake: wrong shapes, ranks or values. The message names the operation and what was expected. */
export class FwdgradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FwdgradError";
  }
}

/** Formats a shape the way error messages print it: `[2, 3]`. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
