/**
 * Kubernetes resource quantities as Karpenter reads `ebs.volumeSize`, and the EBS size in GiB
 * they turn into.
 *
 * Karpenter passes `volumeSize.ScaledValue(resource.Giga)` to EC2: the byte count divided by
 * 10^9, rounded up. EC2 reads that number as GiB. So `80G` gives an 80 GiB volume and `80Gi`
 * (85.9 * 10^9 bytes) an 86 GiB one. Comparisons against a snapshot size therefore use
 * {@link ebsGiBFromQuantity}, not a plain byte comparison, so that `80G` is not "raised" to
 * `80Gi` for an 80 GiB snapshot.
 */

const BINARY_SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const DECIMAL_SUFFIX: Record<string, number> = {
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY = /^([+]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/**
 * Bytes of a quantity (`80Gi`, `100G`, `1Ti`, `512Mi`, `1e12`, `85899345920`), or undefined when
 * the text is not a quantity this module understands (negative numbers, milli units, garbage).
 */
export function quantityToBytes(text: string | number): number | undefined {
  if (typeof text === 'number') {
    return Number.isFinite(text) && text >= 0 ? text : undefined;
  }
  const match = QUANTITY.exec(text.trim());
  if (!match) return undefined;
  const [, , digits, suffix, exponent] = match;
  if (digits === undefined) return undefined;
  const base = Number(digits);
  let multiplier = 1;
  if (suffix !== undefined) {
    multiplier = BINARY_SUFFIX[suffix] ?? DECIMAL_SUFFIX[suffix] ?? 1;
  } else if (exponent !== undefined) {
    multiplier = 10 ** Number(exponent);
  }
  const bytes = base * multiplier;
  return Number.isFinite(bytes) ? bytes : undefined;
}

/** The EBS volume size (GiB) Karpenter requests for a `volumeSize` quantity. */
export function ebsGiBFromQuantity(text: string | number): number | undefined {
  const bytes = quantityToBytes(text);
  if (bytes === undefined) return undefined;
  // Guard against float noise such as 80.00000000001 turning into 81.
  const gb = bytes / 1e9;
  const rounded = Math.round(gb);
  return Math.abs(gb - rounded) < 1e-9 ? rounded : Math.ceil(gb);
}
