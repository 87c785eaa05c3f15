import type { BinaryOperator, Expression, Formula, Statement } from './ast.js';
import { checkFormula } from './checker.js';
import { FormulaError, START_OF_TEXT } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import { MAX_FORMULA_BYTES, MAX_STATEMENTS } from './vocabulary.js';

// Recursion guard: an 8 KB formula of nested parentheses, unary minuses or a long chain of
// operators would otherwise overflow the call stack (here or in the evaluator) instead of
// producing a clear error. Each nesting level and each chained operator counts as one.
const MAX_NESTING = 256;

/**
 * Parses and statically checks a formula: syntax, Batch's size limits, names of variables,
 * functions and methods, argument counts and assignments to read-only variables.
 * Throws FormulaError.
 */
export function parseFormula(text: string): Formula {
  if (typeof text !== 'string') throw new FormulaError('syntax', 'A formula must be a string', START_OF_TEXT);
  checkSize(text);
  const statements = new Parser(tokenize(text)).parseStatements();
  checkFormula(statements);
  return { text, statements };
}

function checkSize(text: string): void {
  let bytes = 0;
  let line = 1;
  let column = 1;
  for (const character of text) {
    const code = character.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes > MAX_FORMULA_BYTES) {
      throw new FormulaError(
        'limit',
        `The formula exceeds the ${MAX_FORMULA_BYTES}-byte (8 KB) limit`,
        { line, column },
      );
    }
    if (character === '\n') {
      line++;
      column = 1;
    } else {
      column += character.length;
    }
  }
}

const COMPARISONS: readonly string[] = ['<', '<=', '>', '>='];
const EQUALITIES: readonly string[] = ['==', '!='];

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parseStatements(): Statement[] {
    const statements: Statement[] = [];
    for (;;) {
      while (this.takePunctuation(';')) {
        // empty statements are allowed, as between `;;` or after a trailing `;`
      }
      if (this.peek().kind === 'end') return statements;
      const start = this.peek().at;
      if (statements.length === MAX_STATEMENTS) {
        throw new FormulaError('limit', `A formula can have at most ${MAX_STATEMENTS} statements`, start);
      }
      statements.push(this.parseStatement());
      const next = this.peek();
      if (next.kind !== 'end' && !this.takePunctuation(';')) {
        throw new FormulaError('syntax', `Expected ';' between statements but found ${describe(next)}`, next.at);
      }
    }
  }

  private parseStatement(): Statement {
    const first = this.peek();
    const second = this.tokens[this.index + 1];
    if (first.kind === 'identifier' && second?.kind === 'punctuation' && second.text === '=') {
      this.index += 2;
      return { kind: 'assign', name: first.text, value: this.parseExpression(), at: first.at };
    }
    return { kind: 'expression', expression: this.parseExpression(), at: first.at };
  }

  private parseExpression(): Expression {
    this.enter();
    const test = this.parseLogical('||');
    const question = this.peek();
    let result = test;
    if (this.takePunctuation('?')) {
      const whenTrue = this.parseExpression();
      this.expectPunctuation(':');
      const whenFalse = this.parseExpression();
      result = { kind: 'conditional', test, whenTrue, whenFalse, at: question.at };
    }
    this.depth--;
    return result;
  }

  private parseLogical(operator: '||' | '&&'): Expression {
    const operand = (): Expression => (operator === '||' ? this.parseLogical('&&') : this.parseBinary(EQUALITIES));
    let left = operand();
    const depthBefore = this.depth;
    for (;;) {
      const token = this.peek();
      if (!this.takePunctuation(operator)) {
        this.depth = depthBefore;
        return left;
      }
      this.enter();
      left = { kind: 'logical', operator, left, right: operand(), at: token.at };
    }
  }

  // One precedence level per operator list, loosest first: equality, comparison, additive, multiplicative.
  private parseBinary(operators: readonly string[]): Expression {
    const tighter = (): Expression => {
      if (operators === EQUALITIES) return this.parseBinary(COMPARISONS);
      if (operators === COMPARISONS) return this.parseBinary(['+', '-']);
      if (operators[0] === '+') return this.parseBinary(['*', '/']);
      return this.parseUnary();
    };
    let left = tighter();
    const depthBefore = this.depth;
    for (;;) {
      const token = this.peek();
      if (token.kind !== 'punctuation' || !operators.includes(token.text)) {
        this.depth = depthBefore;
        return left;
      }
      this.index++;
      this.enter();
      left = { kind: 'binary', operator: token.text as BinaryOperator, left, right: tighter(), at: token.at };
    }
  }

  private parseUnary(): Expression {
    const token = this.peek();
    if (token.kind === 'punctuation' && (token.text === '-' || token.text === '!')) {
      this.index++;
      this.enter();
      const operand = this.parseUnary();
      this.depth--;
      return { kind: 'unary', operator: token.text, operand, at: token.at };
    }
    return this.parsePostfix();
  }

  private parsePostfix(): Expression {
    let expression = this.parsePrimary();
    for (;;) {
      const dot = this.peek();
      if (!this.takePunctuation('.')) return expression;
      const name = this.next();
      if (name.kind !== 'identifier' || name.text.startsWith('$')) {
        throw new FormulaError('syntax', `Expected a method or member name after '.' but found ${describe(name)}`, name.at);
      }
      if (this.takePunctuation('(')) {
        expression = { kind: 'method', target: expression, name: name.text, args: this.parseArguments(')'), at: name.at };
      } else {
        expression = { kind: 'member', target: expression, name: name.text, at: dot.at };
      }
    }
  }

  private parsePrimary(): Expression {
    const token = this.next();
    switch (token.kind) {
      case 'number': {
        const value = Number(token.text);
        if (!Number.isFinite(value)) throw new FormulaError('out-of-range', `Number ${token.text} is too large`, token.at);
        return { kind: 'number', value, at: token.at };
      }
      case 'string':
        return { kind: 'string', value: token.text, at: token.at };
      case 'identifier':
        if (this.takePunctuation('(')) {
          if (token.text.startsWith('$')) {
            throw new FormulaError('syntax', `'${token.text}' is a variable, not a function`, token.at);
          }
          return { kind: 'call', name: token.text, args: this.parseArguments(')'), at: token.at };
        }
        return { kind: 'variable', name: token.text, at: token.at };
      case 'punctuation':
        if (token.text === '(') {
          const inner = this.parseExpression();
          this.expectPunctuation(')');
          return inner;
        }
        if (token.text === '[') {
          return { kind: 'vector', items: this.parseArguments(']'), at: token.at };
        }
        break;
      case 'end':
        break;
    }
    throw new FormulaError('syntax', `Expected an expression but found ${describe(token)}`, token.at);
  }

  private parseArguments(close: ')' | ']'): Expression[] {
    const args: Expression[] = [];
    if (this.takePunctuation(close)) return args;
    for (;;) {
      args.push(this.parseExpression());
      if (this.takePunctuation(close)) return args;
      const token = this.peek();
      if (!this.takePunctuation(',')) {
        throw new FormulaError('syntax', `Expected ',' or '${close}' but found ${describe(token)}`, token.at);
      }
    }
  }

  private enter(): void {
    if (++this.depth > MAX_NESTING) {
      throw new FormulaError('limit', `Expression is too deeply nested or too long (more than ${MAX_NESTING} levels of operators)`, this.peek().at);
    }
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.index++;
    return token;
  }

  private takePunctuation(text: string): boolean {
    const token = this.peek();
    if (token.kind === 'punctuation' && token.text === text) {
      this.index++;
      return true;
    }
    return false;
  }

  private expectPunctuation(text: string): void {
    const token = this.peek();
    if (!this.takePunctuation(text)) {
      throw new FormulaError('syntax', `Expected '${text}' but found ${describe(token)}`, token.at);
    }
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end of the formula';
    case 'string':
      return 'a string';
    case 'number':
      return `number ${token.text}`;
    default:
      return `'${token.text}'`;
  }
}

