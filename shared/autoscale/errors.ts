/** What went wrong, so callers (and tests) can tell error classes apart without parsing messages. */
export type FormulaErrorKind =
  | 'syntax'
  | 'limit'
  | 'unknown-variable'
  | 'unknown-function'
  | 'unknown-member'
  | 'argument-count'
  | 'argument'
  | 'type'
  | 'read-only'
  | 'division-by-zero'
  | 'out-of-range'
  | 'insufficient-samples'
  | 'internal';

/** A 1-based place in the formula text. */
export interface SourcePosition {
  line: number;
  column: number;
}

/**
 * Any problem with a formula, at parse or evaluation time, pointing at the line and column
 * (both 1-based) where it happened.
 */
export class FormulaError extends Error {
  readonly line: number;
  readonly column: number;
  readonly kind: FormulaErrorKind;

  constructor(kind: FormulaErrorKind, message: string, at: SourcePosition) {
    super(message);
    this.name = 'FormulaError';
    this.kind = kind;
    this.line = at.line;
    this.column = at.column;
  }

  /** "line 3, column 7: message", the form shown to users. */
  describe(): string {
    return `line ${this.line}, column ${this.column}: ${this.message}`;
  }

  override toString(): string {
    return `FormulaError: ${this.describe()}`;
  }

  // Error's own `message` is not enumerable, so results crossing a JSON boundary (Durable
  // Functions history, HTTP responses) would lose it without this.
  toJSON(): { name: string; kind: FormulaErrorKind; message: string; line: number; column: number } {
    return { name: this.name, kind: this.kind, message: this.message, line: this.line, column: this.column };
  }
}

export const START_OF_TEXT: SourcePosition = { line: 1, column: 1 };
