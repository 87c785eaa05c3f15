import { describe, expect, it } from 'vitest';
import { evaluateFormulaText } from '../../shared/autoscale/index.js';
import { environment, valueOf } from './helpers.js';

describe('read-write service variables', () => {
  it('targets stay at the current size when the formula sets none, and deallocation defaults to requeue', () => {
    const result = evaluateFormulaText('x = 1;', environment({ dedicated: 3, lowPriority: 2 }));
    expect(result.error).toBeUndefined();
    expect(result.targetDedicatedNodes).toBe(3);
    expect(result.targetLowPriorityNodes).toBe(2);
    expect(result.nodeDeallocationOption).toBe('requeue');
    expect(result.results).toBe('$TargetDedicatedNodes=3;$TargetLowPriorityNodes=2;$NodeDeallocationOption=requeue;x=1');
  });

  it('an empty formula changes nothing', () => {
    expect(evaluateFormulaText('// nothing\n', environment({ dedicated: 5 })).targetDedicatedNodes).toBe(5);
  });

  it('reads the current target before the formula assigns one', () => {
    expect(valueOf('$TargetDedicatedNodes + $TargetLowPriorityNodes', environment({ dedicated: 3, lowPriority: 4 }))).toBe('7');
  });

  it('accepts the aliases, the full name taking precedence when both are set', () => {
    expect(evaluateFormulaText('$TargetDedicated = 4; $TargetLowPriority = 6;', environment()).results).toBe(
      '$TargetDedicatedNodes=4;$TargetLowPriorityNodes=6;$NodeDeallocationOption=requeue',
    );
    const both = evaluateFormulaText('$TargetDedicatedNodes = 2; $TargetDedicated = 9;', environment());
    expect(both.targetDedicatedNodes).toBe(2);
    expect(valueOf('$TargetDedicated', environment({ dedicated: 8 }))).toBe('8');
  });

  it('truncates fractional targets', () => {
    expect(evaluateFormulaText('$TargetDedicatedNodes = 2.9;', environment()).targetDedicatedNodes).toBe(2);
  });

  it('sets each node deallocation option, by name or as a string', () => {
    for (const option of ['requeue', 'terminate', 'taskcompletion', 'retaineddata'] as const) {
      expect(evaluateFormulaText(`$NodeDeallocationOption = ${option};`, environment()).nodeDeallocationOption).toBe(option);
      expect(evaluateFormulaText(`$NodeDeallocationOption = "${option}";`, environment()).nodeDeallocationOption).toBe(option);
    }
    expect(valueOf('$NodeDeallocationOption == "requeue"')).toBe('1');
  });

  it('lists user variables sorted by name after the service variables, with or without $', () => {
    const result = evaluateFormulaText('zeta = 1; $alpha = [1, 2]; Beta = "b"; gap = TimeInterval_Minute * 1.5;', environment());
    expect(result.results).toBe(
      '$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$alpha=[1,2];Beta=b;gap=00:01:30;zeta=1',
    );
    expect(result.variables.map((v) => v.name)).toEqual([
      '$TargetDedicatedNodes',
      '$TargetLowPriorityNodes',
      '$NodeDeallocationOption',
      '$alpha',
      'Beta',
      'gap',
      'zeta',
    ]);
  });

  it('lets a user variable be reassigned with another type', () => {
    expect(valueOf('1; x = "now a string"')).toBe('now a string');
  });
});
