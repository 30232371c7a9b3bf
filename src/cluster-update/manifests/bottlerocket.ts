/**
 * Whether a node group or node class runs Bottlerocket, the only OS that keeps its container
 * store on /dev/xvdb, decided the way eksctl and Karpenter decide it.
 */

/**
 * eksctl's `IsBottlerocketImage` (eksctl-io/eksctl pkg/apis/eksctl.io/v1alpha5 validation.go):
 * `Bottlerocket` and `BottlerocketFips`. eksctl first normalizes `amiFamily` case-insensitively
 * (`normalizeAMIFamily`, `strings.EqualFold`), so `bottlerocket` counts too.
 */
const EKSCTL_BOTTLEROCKET = ['bottlerocket', 'bottlerocketfips'];

export function isEksctlBottlerocket(amiFamily: string | undefined): boolean {
  return amiFamily !== undefined && EKSCTL_BOTTLEROCKET.includes(amiFamily.toLowerCase());
}

export type AmiVerdict =
  | { bottlerocket: true }
  | { bottlerocket: false; why: string }
  | { bottlerocket: 'unknown'; why: string };

export interface KarpenterAmiFacts {
  amiFamily: string | undefined;
  /** `amiSelectorTerms[].alias` values (v1). */
  aliases: string[];
  /** AMI names the selector matches by (`amiSelectorTerms[].name`, v1alpha1 `aws::name`). */
  names: string[];
  /** Whether the kind defaults to AL2 without amiFamily (v1alpha1 AWSNodeTemplate). */
  defaultsToAL2: boolean;
}

/**
 * The AMI decides, not the family label. An alias names the AMI family (Karpenter's
 * `amiFamilyFromAlias`, pkg/apis/v1/ec2nodeclass.go: `bottlerocket@<version>`), also under
 * `amiFamily: Custom`. Without one, `amiFamily` does; `Custom` selects AMIs by name, ID or tags,
 * and only a name containing "bottlerocket" tells.
 */
export function karpenterAmiVerdict(facts: KarpenterAmiFacts): AmiVerdict {
  const alias = facts.aliases[0];
  if (alias !== undefined) {
    return alias.toLowerCase().startsWith('bottlerocket@')
      ? { bottlerocket: true }
      : { bottlerocket: false, why: `selects the AMI alias ${alias}` };
  }
  const family = facts.amiFamily;
  if (family === undefined) {
    return facts.defaultsToAL2
      ? { bottlerocket: false, why: 'sets no amiFamily, so Karpenter uses AL2' }
      : { bottlerocket: 'unknown', why: 'sets neither amiFamily nor an AMI alias' };
  }
  if (family === 'Bottlerocket') return { bottlerocket: true };
  if (family === 'Custom') {
    if (facts.names.some((n) => n.toLowerCase().includes('bottlerocket'))) {
      return { bottlerocket: true };
    }
    return {
      bottlerocket: 'unknown',
      why: 'has amiFamily Custom and no bottlerocket@ alias or AMI name with "bottlerocket"',
    };
  }
  return { bottlerocket: false, why: `has amiFamily ${family}` };
}
