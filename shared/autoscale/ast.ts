import type { SourcePosition } from './errors.js';

export type BinaryOperator = '+' | '-' | '*' | '/' | '<' | '<=' | '>' | '>=' | '==' | '!=';
export type LogicalOperator = '&&' | '||';
export type UnaryOperator = '-' | '!';

/** Every node carries the position of the token that names it (the operator for operations). */
export type Expression =
  | { kind: 'number'; value: number; at: SourcePosition }
  | { kind: 'string'; value: string; at: SourcePosition }
  | { kind: 'vector'; items: Expression[]; at: SourcePosition }
  | { kind: 'variable'; name: string; at: SourcePosition }
  | { kind: 'unary'; operator: UnaryOperator; operand: Expression; at: SourcePosition }
  | { kind: 'binary'; operator: BinaryOperator; left: Expression; right: Expression; at: SourcePosition }
  | { kind: 'logical'; operator: LogicalOperator; left: Expression; right: Expression; at: SourcePosition }
  | { kind: 'conditional'; test: Expression; whenTrue: Expression; whenFalse: Expression; at: SourcePosition }
  | { kind: 'call'; name: string; args: Expression[]; at: SourcePosition }
  | { kind: 'method'; target: Expression; name: string; args: Expression[]; at: SourcePosition }
  | { kind: 'member'; target: Expression; name: string; at: SourcePosition };

export type Statement =
  | { kind: 'assign'; name: string; value: Expression; at: SourcePosition }
  | { kind: 'expression'; expression: Expression; at: SourcePosition };

/** A parsed, checked formula, ready to evaluate any number of times. */
export interface Formula {
  readonly text: string;
  readonly statements: readonly Statement[];
}
