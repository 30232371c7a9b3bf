import { describe, expect, it } from '@jest/globals';
import { parseImageReference } from '../../../src/config/image-ref.js';
import { parseInputs } from '../../../src/action/inputs/index.js';
import { parsePullThroughCache, pullSource } from '../../../src/build/pull-through.js';

const RULES = { 'ghcr.io': 'ghcr', 'docker.io': 'docker-hub', 'quay.io': 'team/quay' };
const source = (ref: string, region = 'us-west-2') =>
  pullSource(parseImageReference(ref), RULES, '123456789012', region).normalized;

describe('pullSource', () => {
  it('maps an image on a cached registry to the ECR pull-through repository', () => {
    expect(source('ghcr.io/acme/trainer:v7')).toBe(
      '123456789012.dkr.ecr.us-west-2.amazonaws.com/ghcr/acme/trainer:v7',
    );
    expect(source('quay.io/org/tool')).toBe(
      '123456789012.dkr.ecr.us-west-2.amazonaws.com/team/quay/org/tool:latest',
    );
  });

  it('keeps Docker Hub official images under library/, as ECR expects', () => {
    expect(source('nginx:1.27')).toBe(
      '123456789012.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/nginx:1.27',
    );
  });

  it('keeps digests and tags', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(source(`ghcr.io/acme/app@${digest}`)).toBe(
      `123456789012.dkr.ecr.us-west-2.amazonaws.com/ghcr/acme/app@${digest}`,
    );
    expect(source(`ghcr.io/acme/app:v1@${digest}`)).toBe(
      `123456789012.dkr.ecr.us-west-2.amazonaws.com/ghcr/acme/app:v1@${digest}`,
    );
  });

  it('uses the China partition host in cn- regions', () => {
    expect(source('ghcr.io/acme/app:v1', 'cn-north-1')).toBe(
      '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/ghcr/acme/app:v1',
    );
  });

  it('leaves other images alone (the same reference)', () => {
    const image = parseImageReference('public.ecr.aws/eks-distro/kubernetes/pause:3.2');
    expect(pullSource(image, RULES, '123456789012', 'us-west-2')).toBe(image);
  });
});

describe('input pull-through-cache', () => {
  it('reads registry=prefix lines and comma lists, normalizing Docker Hub aliases', () => {
    expect(parsePullThroughCache('ghcr.io=ghcr\nindex.docker.io=docker-hub, quay.io=q/x')).toEqual({
      'ghcr.io': 'ghcr',
      'docker.io': 'docker-hub',
      'quay.io': 'q/x',
    });
    expect(parsePullThroughCache('')).toEqual({});
  });

  it.each([
    ['ghcr.io', "'ghcr.io' is not registry=ecr-repository-prefix"],
    ['ghcr=ghcr', "names 'ghcr', which is not a registry host"],
    ['ghcr.io/acme=ghcr', "names 'ghcr.io/acme', which is not a registry host"],
    ['123456789012.dkr.ecr.us-west-2.amazonaws.com=x1', 'names an ECR registry'],
    ['ghcr.io=G', "has the prefix 'G'"],
    ['ghcr.io=a', "has the prefix 'a'"],
    ['ghcr.io=ghcr,ghcr.io=other', 'maps ghcr.io a second time'],
  ])('refuses %j, naming the input', (raw, message) => {
    expect(() => parsePullThroughCache(raw)).toThrow(
      expect.objectContaining({ message: expect.stringContaining('pull-through-cache') }),
    );
    expect(() => parsePullThroughCache(raw)).toThrow(message);
  });

  it('warns about a rule no listed image uses', () => {
    const all: Record<string, string> = {
      images: 'ghcr.io/acme/app:v1',
      'aws-region': 'us-west-2',
      'instance-profile': 'builder',
      'pull-through-cache': 'ghcr.io=ghcr\nquay.io=quay',
    };
    const parsed = parseInputs((name) => all[name] ?? '');
    expect(parsed.config.pullThroughCache).toEqual({ 'ghcr.io': 'ghcr', 'quay.io': 'quay' });
    expect(parsed.warnings).toEqual([
      "Input 'pull-through-cache': no image in 'images' is on quay.io.",
    ]);
  });
});
