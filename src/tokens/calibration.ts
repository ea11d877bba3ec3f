/**
 * Per-model ratios of observed to estimated input tokens, learned from
 * traffic. A ratio starts at the model's default and moves toward what the
 * provider reports, as an exponentially weighted mean: early samples weigh
 * as much as a plain mean would give them (the default counting as one), so
 * a few requests are enough; later ones weigh `alpha` each, so the ratio
 * follows a change of tokenizer without jumping on one odd request.
 *
 * A sample is ignored (and not counted) when it is not a finite positive
 * pair, when the estimate is too small to say anything about the ratio, when
 * its ratio falls outside `[minRatio, maxRatio]`, or, once the ratio has
 * settled, when it is more than `outlierFactor` away from the current ratio
 * (a response that reported the wrong usage, a request mostly made of images).
 */

export interface CalibrationOptions {
  /** Weight of one sample once the ratio has settled, in (0, 1]. */
  readonly alpha: number;
  readonly minRatio: number;
  readonly maxRatio: number;
  /** Samples whose estimate is below this many tokens are ignored. */
  readonly minSampleTokens: number;
  /** Samples before the outlier test applies. */
  readonly settleSamples: number;
  /** Once settled, samples more than this factor above or below the ratio are ignored. */
  readonly outlierFactor: number;
  /** Models remembered at most; the oldest is forgotten first. */
  readonly maxModels: number;
}

export interface Calibration {
  /** Actual tokens per estimated (counted) token for this model. */
  readonly ratio: number;
  /** Observations that moved the ratio. 0: the ratio is the default. */
  readonly samples: number;
}

export class Calibrator {
  readonly #entries = new Map<string, { ratio: number; samples: number }>();

  constructor(readonly options: CalibrationOptions) {}

  get(key: string, fallback: number): Calibration {
    const entry = this.#entries.get(key);
    return entry ? { ratio: entry.ratio, samples: entry.samples } : { ratio: fallback, samples: 0 };
  }

  /**
   * Records that `counted` tokens (the estimator's count before any ratio)
   * turned out to be `actual` tokens. Returns whether the sample was used.
   */
  observe(key: string, fallback: number, counted: number, actual: number): boolean {
    const o = this.options;
    if (!Number.isFinite(counted) || !Number.isFinite(actual) || counted <= 0 || actual <= 0) return false;
    if (counted < o.minSampleTokens) return false;
    const sample = actual / counted;
    if (sample < o.minRatio || sample > o.maxRatio) return false;
    let entry = this.#entries.get(key);
    if (entry && entry.samples >= o.settleSamples) {
      if (sample > entry.ratio * o.outlierFactor || sample < entry.ratio / o.outlierFactor) return false;
    }
    if (!entry) {
      if (this.#entries.size >= o.maxModels) {
        const oldest = this.#entries.keys().next();
        if (!oldest.done) this.#entries.delete(oldest.value);
      }
      entry = { ratio: fallback, samples: 0 };
      this.#entries.set(key, entry);
    }
    const weight = Math.max(o.alpha, 1 / (entry.samples + 2));
    const next = entry.ratio + weight * (sample - entry.ratio);
    entry.ratio = Math.min(o.maxRatio, Math.max(o.minRatio, next));
    entry.samples += 1;
    return true;
  }

  /** Every model observed so far, for a host to log or persist (and seed back through `ratios`). */
  entries(): { key: string; ratio: number; samples: number }[] {
    return [...this.#entries].map(([key, e]) => ({ key, ratio: e.ratio, samples: e.samples }));
  }

  reset(key?: string): void {
    if (key === undefined) this.#entries.clear();
    else this.#entries.delete(key);
  }
}
