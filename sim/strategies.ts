// Exploration strategies: which enabled step runs next. Random picks uniformly. PCT (Burckhardt et
// al., as in Coyote) gives each owner (a thread, an agent, an orchestration) a random priority,
// always runs the highest-priority enabled owner, and lowers the running owner's priority at d-1
// random change points; it finds ordering bugs of depth d with a known probability. Portfolio
// alternates them from one iteration to the next.
import type { Prng } from './prng.js';
import type { Step } from './kernel.js';

export interface Strategy {
  readonly name: string;
  /** `seed` is the iteration's seed: whatever a strategy decides per iteration derives from it. */
  begin(prng: Prng, seed: number): void;
  pick(steps: readonly Step[], stepNo: number): number;
  end(stepsTaken: number): void;
  /** A short description of this iteration's settings, for the report of a failing seed. */
  describe(): string;
}

export type StrategyName = 'random' | 'pct' | 'portfolio';

export class RandomStrategy implements Strategy {
  readonly name = 'random';
  private prng!: Prng;

  begin(prng: Prng, _seed?: number): void {
    this.prng = prng;
  }

  pick(steps: readonly Step[]): number {
    return this.prng.int(steps.length);
  }

  end(): void {}

  describe(): string {
    return 'random';
  }
}

export class PctStrategy implements Strategy {
  readonly name = 'pct';
  private prng!: Prng;
  /** Owners, highest priority first. */
  private order: string[] = [];
  private known = new Set<string>();
  private changePoints = new Set<number>();
  /**
   * Change points fall within the first `horizon` steps (Coyote learns this bound from earlier
   * runs; here it is fixed, so that every iteration depends on its seed alone and replays alone).
   */
  constructor(
    readonly depth = 3,
    private readonly horizon = 400,
  ) {}

  begin(prng: Prng, _seed?: number): void {
    this.prng = prng;
    this.order = [];
    this.known = new Set();
    this.changePoints = new Set();
    while (this.changePoints.size < Math.min(this.depth - 1, this.horizon)) this.changePoints.add(1 + prng.int(this.horizon));
  }

  pick(steps: readonly Step[], stepNo: number): number {
    for (const step of steps) {
      if (this.known.has(step.owner)) continue;
      this.known.add(step.owner);
      this.order.splice(this.prng.int(this.order.length + 1), 0, step.owner);
    }
    const rank = (owner: string) => this.order.indexOf(owner);
    let best = 0;
    for (let i = 1; i < steps.length; i++) if (rank(steps[i]!.owner) < rank(steps[best]!.owner)) best = i;
    if (this.changePoints.has(stepNo)) {
      // The owner about to run drops to the lowest priority; the next best runs instead.
      const owner = steps[best]!.owner;
      this.order.splice(rank(owner), 1);
      this.order.push(owner);
      best = 0;
      for (let i = 1; i < steps.length; i++) if (rank(steps[i]!.owner) < rank(steps[best]!.owner)) best = i;
    }
    return best;
  }

  end(): void {}

  describe(): string {
    return `pct(depth ${this.depth})`;
  }
}

const PORTFOLIO_DEPTHS = [2, 3, 5, 10];

export class PortfolioStrategy implements Strategy {
  readonly name = 'portfolio';
  private readonly random = new RandomStrategy();
  private readonly pcts = PORTFOLIO_DEPTHS.map((d) => new PctStrategy(d));
  private current: Strategy = this.random;

  begin(prng: Prng, seed: number): void {
    const slot = (seed >>> 0) % (2 * this.pcts.length);
    this.current = slot % 2 === 0 ? this.random : this.pcts[slot >> 1]!;
    this.current.begin(prng, seed);
  }

  pick(steps: readonly Step[], stepNo: number): number {
    return this.current.pick(steps, stepNo);
  }

  end(stepsTaken: number): void {
    this.current.end(stepsTaken);
  }

  describe(): string {
    return `portfolio/${this.current.describe()}`;
  }
}

export function createStrategy(name: StrategyName, pctDepth = 3, horizon = 400): Strategy {
  if (name === 'random') return new RandomStrategy();
  if (name === 'pct') return new PctStrategy(pctDepth, horizon);
  return new PortfolioStrategy();
}
