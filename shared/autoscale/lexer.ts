import { FormulaError, type SourcePosition } from './errors.js';

export type TokenKind = 'number' | 'string' | 'identifier' | 'punctuation' | 'end';

export interface Token {
  kind: TokenKind;
  /** For numbers the literal text, for strings the decoded content, otherwise the text itself. */
  text: string;
  at: SourcePosition;
}

// Longest first so that `<=` wins over `<`.
const PUNCTUATION = ['&&', '||', '==', '!=', '<=', '>=', '(', ')', '[', ']', ',', ';', '.', '?', ':', '+', '-', '*', '/', '!', '<', '>', '='];

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isIdentifierStart = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isIdentifierPart = (c: string): boolean => isIdentifierStart(c) || isDigit(c);

/** Splits formula text into tokens, dropping whitespace and `//` comments. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  let line = 1;
  let lineStart = 0;
  const here = (): SourcePosition => ({ line, column: index - lineStart + 1 });

  while (index < text.length) {
    const c = text[index]!;
    if (c === '\n') {
      index++;
      line++;
      lineStart = index;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      index++;
      continue;
    }
    if (c === '/' && text[index + 1] === '/') {
      while (index < text.length && text[index] !== '\n') index++;
      continue;
    }
    const at = here();
    if (isDigit(c) || (c === '.' && isDigit(text[index + 1] ?? ''))) {
      const start = index;
      while (isDigit(text[index] ?? '')) index++;
      if (text[index] === '.' && isDigit(text[index + 1] ?? '')) {
        index++;
        while (isDigit(text[index] ?? '')) index++;
      }
      if (text[index] === 'e' || text[index] === 'E') {
        const signed = text[index + 1] === '+' || text[index + 1] === '-';
        const firstDigit = index + (signed ? 2 : 1);
        if (isDigit(text[firstDigit] ?? '')) {
          index = firstDigit;
          while (isDigit(text[index] ?? '')) index++;
        }
      }
      if (isIdentifierStart(text[index] ?? '')) {
        throw new FormulaError('syntax', `Malformed number '${text.slice(start, index + 1)}'`, at);
      }
      tokens.push({ kind: 'number', text: text.slice(start, index), at });
      continue;
    }
    if (c === '$' || isIdentifierStart(c)) {
      const start = index;
      index++;
      if (c === '$' && !isIdentifierStart(text[index] ?? '')) {
        throw new FormulaError('syntax', "Expected a variable name after '$'", at);
      }
      while (isIdentifierPart(text[index] ?? '')) index++;
      tokens.push({ kind: 'identifier', text: text.slice(start, index), at });
      continue;
    }
    if (c === '"') {
      index++;
      let content = '';
      for (;;) {
        const d = text[index];
        if (d === undefined || d === '\n') throw new FormulaError('syntax', 'Unterminated string literal', at);
        index++;
        if (d === '"') break;
        if (d === '\\') {
          const escaped = text[index];
          if (escaped !== '"' && escaped !== '\\') {
            throw new FormulaError('syntax', 'Only \\" and \\\\ escapes are allowed in a string', at);
          }
          content += escaped;
          index++;
          continue;
        }
        content += d;
      }
      tokens.push({ kind: 'string', text: content, at });
      continue;
    }
    const punctuation = PUNCTUATION.find((p) => text.startsWith(p, index));
    if (punctuation === undefined) {
      throw new FormulaError('syntax', `Unexpected character '${c}'`, at);
    }
    index += punctuation.length;
    tokens.push({ kind: 'punctuation', text: punctuation, at });
  }
  tokens.push({ kind: 'end', text: '', at: here() });
  return tokens;
}
