/**
 * A small seeded pseudo-random generator, so that every run of the benchmark (and every machine)
 * measures the same vectors, texts and queries.
 */
export type Rng = {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal (mean 0, variance 1). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
};

/**
 * A 32-bit generator (a Weyl sequence fed through an integer mixer): fast, tiny state, and good
 * enough for synthetic benchmark data. Not for anything that needs unpredictability.
 */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  let spareNormal: number | null = null;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    // Box-Muller: two uniforms give two independent normals; the second is kept for the next call.
    normal() {
      if (spareNormal !== null) {
        const value = spareNormal;
        spareNormal = null;
        return value;
      }
      let u = next();
      while (u === 0) u = next();
      const v = next();
      const radius = Math.sqrt(-2 * Math.log(u));
      spareNormal = radius * Math.sin(2 * Math.PI * v);
      return radius * Math.cos(2 * Math.PI * v);
    },
    int(n: number) {
      return Math.floor(next() * n);
    },
  };
}
